#!/usr/bin/env python3
"""Generate fakecluster/data/proto-schema.txt: the protobuf wire schema of
the Kubernetes built-in kinds, so the fake API server can read the protobuf
bodies kubectl sends for them (`kubectl create configmap`, ...).

Fields and tags come from the prost code of the k8s-pb crate; their JSON
names from k8s-openapi's serde code (prost turns `podCIDRs` into
`pod_cid_rs`, which does not convert back). Run once when moving to a new
Kubernetes version, from any checkout that has both crates in the cargo
registry (e.g. after `cargo add k8s-pb@0.8` in a scratch project):

    python3 fakecluster/tools/gen-proto-schema.py ~/.cargo/registry/src/*/k8s-pb-0.8.0 \\
        ~/.cargo/registry/src/*/k8s-openapi-0.28.0/src/v1_36 > fakecluster/data/proto-schema.txt

Output, one message a line: `path.Message field,field,...`; a field is
`tag:json:type[:label]`, type `s` string, `i` int32/int64, `b` bool, `d`
double, `y` bytes, `m=path.Msg` message, `M=path.Msg` map to message, `Ms`
map to string, `My` map to bytes; label `r` for repeated.
"""
import os, re, sys

pb_root = os.path.join(sys.argv[1], "src")
oa_root = sys.argv[2]

def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

def json_names(path, typ):
    f = os.path.join(oa_root, *path, snake(typ) + ".rs")
    if not os.path.exists(f):
        return {}
    names = re.findall(r'"([A-Za-z0-9$_\-.]+)" => Field::Key_', open(f).read())
    return {n.replace("_", "").replace("-", "").replace("$", "").lower(): n for n in names}

def camel(s):
    p = s.split("_")
    return p[0] + "".join(x[:1].upper() + x[1:] for x in p[1:])

def resolve(modpath, rust_type):
    parts = rust_type.replace("::prost::alloc::", "").split("::")
    base = list(modpath)
    while parts and parts[0] == "super":
        base.pop()
        parts = parts[1:]
    return ".".join(base + parts)

out = []
for dirpath, _, files in os.walk(pb_root):
    for fn in files:
        if not fn.endswith(".rs") or fn == "lib.rs":
            continue
        rel = os.path.relpath(os.path.join(dirpath, fn), pb_root)
        modpath = rel[:-3].split(os.sep)
        if modpath[-1] == "mod":
            modpath = modpath[:-1]
        if modpath[0] not in ("api", "apimachinery"):
            continue
        text = open(os.path.join(dirpath, fn)).read()
        for m in re.finditer(r"pub struct (\w+) \{(.*?)\n\}", text, re.S):
            typ, body = m.group(1), m.group(2)
            names = json_names(modpath, typ)
            fields = []
            for f in re.finditer(r"#\[prost\(([^\]]*)\)\]\s*pub (r#)?(\w+):", body, re.S):
                attr, name = f.group(1), f.group(3)
                # the type: up to the first comma outside <...>
                depth, i = 0, f.end()
                while i < len(body) and not (body[i] == "," and depth == 0):
                    depth += {"<": 1, ">": -1}.get(body[i], 0)
                    i += 1
                rtype = body[f.end():i]
                tag = re.search(r'tag = "(\d+)"', attr).group(1)
                jname = names.get(name.replace("_", "").lower(), camel(name))
                label = ":r" if "repeated" in attr else ""
                kind = attr.split(",")[0].strip()
                if kind.startswith("btree_map"):
                    v = re.search(r'btree_map = "string, (\w+)"', attr).group(1)
                    if v == "message":
                        flat = " ".join(rtype.split())
                        if "," not in flat:
                            raise SystemExit(f"cannot read the map type of {typ}.{name}: {flat!r}")
                        inner = flat[flat.index(",") + 1:].strip()
                        inner = inner[:-1] if inner.endswith(">") else inner
                        t = "M=" + resolve(modpath, inner)
                    else:
                        t = {"string": "Ms", "bytes": "My"}[v]
                    label = ""
                elif kind == "message":
                    inner = re.sub(r"^(::core::option::Option|::prost::alloc::vec::Vec|::prost::alloc::boxed::Box)<", "", rtype.replace("\n", " ").strip())
                    inner = re.sub(r"^(::prost::alloc::boxed::Box)<", "", inner)
                    inner = inner.rstrip(">").strip()
                    t = "m=" + resolve(modpath, inner)
                else:
                    t = {"string": "s", "int32": "i", "int64": "i", "bool": "b", "double": "d", "bytes = \"vec\"": "y"}[kind]
                fields.append(f"{tag}:{jname}:{t}{label}")
            out.append(".".join(modpath + [typ]) + " " + ",".join(fields))
for line in sorted(out):
    print(line)
