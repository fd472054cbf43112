//! The first syntax error of a JSON text, worded as Go's encoding/json
//! scanner words it (`invalid character 'n' looking for beginning of object
//! key string`): the API server passes that text through in its 400s (a
//! malformed body, a continue token that is not one).

/// Go's `quoteChar`.
fn quote(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c if !c.is_control() => format!("'{c}'"),
        c => format!("'{}'", c.escape_default()),
    }
}

fn invalid(c: char, context: &str) -> String {
    format!("invalid character {} {context}", quote(c))
}

struct Scan<'a> {
    s: &'a [char],
    i: usize,
}

impl Scan<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], ' ' | '\t' | '\n' | '\r') {
            self.i += 1;
        }
    }
    fn next(&mut self) -> Option<char> {
        let c = self.s.get(self.i).copied();
        self.i += 1;
        c
    }
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> Result<(), String> {
        self.ws();
        match self.next() {
            None => Err("unexpected end of JSON input".into()),
            Some('{') => self.object(),
            Some('[') => self.array(),
            Some('"') => self.string(),
            Some(c @ ('t' | 'f' | 'n')) => {
                let word = match c {
                    't' => "true",
                    'f' => "false",
                    _ => "null",
                };
                for want in word.chars().skip(1) {
                    match self.next() {
                        None => return Err("unexpected end of JSON input".into()),
                        Some(g) if g == want => {}
                        Some(g) => {
                            return Err(invalid(
                                g,
                                &format!("in literal {word} (expecting {})", quote(want)),
                            ))
                        }
                    }
                }
                Ok(())
            }
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(c),
            Some(c) => Err(invalid(c, "looking for beginning of value")),
        }
    }

    fn number(&mut self, first: char) -> Result<(), String> {
        if first == '-' {
            match self.next() {
                Some(c) if c.is_ascii_digit() => {}
                Some(c) => return Err(invalid(c, "in numeric literal")),
                None => return Err("unexpected end of JSON input".into()),
            }
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || ".eE+-".contains(c))
        {
            self.i += 1;
        }
        Ok(())
    }

    fn string(&mut self) -> Result<(), String> {
        loop {
            match self.next() {
                None => return Err("unexpected end of JSON input".into()),
                Some('"') => return Ok(()),
                Some('\\') => match self.next() {
                    None => return Err("unexpected end of JSON input".into()),
                    Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u') => {}
                    Some(c) => return Err(invalid(c, "in string escape code")),
                },
                Some(c) if (c as u32) < 0x20 => return Err(invalid(c, "in string literal")),
                Some(_) => {}
            }
        }
    }

    fn object(&mut self) -> Result<(), String> {
        self.ws();
        if self.peek() == Some('}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            match self.next() {
                None => return Err("unexpected end of JSON input".into()),
                Some('"') => self.string()?,
                Some(c) => return Err(invalid(c, "looking for beginning of object key string")),
            }
            self.ws();
            match self.next() {
                None => return Err("unexpected end of JSON input".into()),
                Some(':') => {}
                Some(c) => return Err(invalid(c, "after object key")),
            }
            self.value()?;
            self.ws();
            match self.next() {
                None => return Err("unexpected end of JSON input".into()),
                Some(',') => {}
                Some('}') => return Ok(()),
                Some(c) => return Err(invalid(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.ws();
        if self.peek() == Some(']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.ws();
            match self.next() {
                None => return Err("unexpected end of JSON input".into()),
                Some(',') => {}
                Some(']') => return Ok(()),
                Some(c) => return Err(invalid(c, "after array element")),
            }
        }
    }
}

/// The first syntax error in `text`, as Go words it; None for valid JSON.
pub fn syntax_error(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut s = Scan { s: &chars, i: 0 };
    if let Err(e) = s.value() {
        return Some(e);
    }
    s.ws();
    s.peek().map(|c| invalid(c, "after top-level value"))
}

#[cfg(test)]
mod tests {
    use super::syntax_error;

    #[test]
    fn words_errors_like_go() {
        assert_eq!(
            syntax_error("{not json").unwrap(),
            "invalid character 'n' looking for beginning of object key string"
        );
        assert_eq!(
            syntax_error("not-a-token").unwrap(),
            "invalid character 'o' in literal null (expecting 'u')"
        );
        assert_eq!(
            syntax_error("{\"a\":").unwrap(),
            "unexpected end of JSON input"
        );
        assert_eq!(
            syntax_error("[1 2]").unwrap(),
            "invalid character '2' after array element"
        );
        assert_eq!(
            syntax_error("{\"a\" 1}").unwrap(),
            "invalid character '1' after object key"
        );
        assert_eq!(syntax_error("{\"a\": [1, {\"b\": null}]}"), None);
        assert_eq!(
            syntax_error("{} x").unwrap(),
            "invalid character 'x' after top-level value"
        );
    }
}
