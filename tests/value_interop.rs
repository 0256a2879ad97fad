//! The value codec against the real peers: php-memcached 3.2 (through the
//! `php` CLI) and pylibmc (through the project's venv), each writing values
//! that mcring decodes and reading values that mcring encoded, through a
//! real memcached.

use std::path::PathBuf;
use std::process::Command;

use mcring::compress::Compression;
use mcring::config::ValueFormat;
use mcring::value::{decode, encode, php_double_text, user_flags, CodecOptions, Decoded, Value};
use mcring_tests::Memcached;

const MAX: usize = 16 << 20;

/// Runs a PHP snippet with `$m` connected to `mc` (JSON serializer) and
/// returns its standard output; fails the test if PHP fails.
fn php(mc: &Memcached, code: &str) -> String {
    let prelude = r#"
        error_reporting(E_ALL);
        $m = new Memcached();
        $m->addServer('127.0.0.1', (int)$argv[1]);
        $m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_JSON);
    "#;
    let out = Command::new("php")
        .arg("-r")
        .arg(format!("{prelude}\n{code}"))
        .arg("--")
        .arg(mc.port.to_string())
        .output()
        .expect("the php CLI must be installed (scripts/setup.sh installs php-cli php-memcached)");
    assert!(
        out.status.success(),
        "php failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("php prints UTF-8 here")
}

/// The Python with pylibmc: `$MCRING_PYTHON`, else the workspace's `.venv`.
/// A missing interpreter fails the test: a skipped check must not pass.
fn python_path() -> PathBuf {
    if let Some(p) = std::env::var_os("MCRING_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with pylibmc: set MCRING_PYTHON or run scripts/setup.sh to create {}",
        venv.display()
    );
    venv
}

/// Runs a Python snippet with `c` a pylibmc client of `mc`; returns stdout.
fn python(mc: &Memcached, code: &str) -> String {
    let prelude = "import sys, pylibmc\nc = pylibmc.Client(['127.0.0.1:%s' % sys.argv[1]])\n";
    let out = Command::new(python_path())
        .arg("-c")
        .arg(format!("{prelude}{code}"))
        .arg(mc.port.to_string())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python prints UTF-8 here")
}

fn raw_set(mc: &Memcached, key: &str, flags: u32, data: &[u8]) {
    let mut cmd = format!("set {key} {flags} 0 {}\r\n", data.len()).into_bytes();
    cmd.extend_from_slice(data);
    cmd.extend_from_slice(b"\r\n");
    assert_eq!(mc.raw(&cmd, b"\r\n"), b"STORED\r\n", "set {key}");
}

fn raw_get(mc: &Memcached, key: &str) -> (u32, Vec<u8>) {
    mc.raw_get(key.as_bytes()).unwrap_or_else(|| panic!("{key} is not stored"))
}

fn get(mc: &Memcached, key: &str, format: ValueFormat) -> Decoded {
    let (flags, data) = raw_get(mc, key);
    decode(
        &data,
        flags,
        &CodecOptions {
            format,
            compress_threshold: 0,
            user_flags: 0,
            max_value_bytes: MAX,
            compression: Compression::default(),
        },
    )
    .unwrap_or_else(|e| panic!("{key}: {e}"))
}

fn store(mc: &Memcached, key: &str, value: Value<'_>, opts: &CodecOptions) {
    let e = encode(&value, opts).unwrap();
    raw_set(mc, key, e.flags, &e.data);
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The same pseudo-random bytes the PHP and Python snippets make (an LCG):
/// input that compresses only through long-distance matches when repeated.
fn lcg_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 1;
    (0..n)
        .map(|_| {
            x = (x * 1_103_515_245 + 12345) & 0x7fff_ffff;
            (x >> 16) as u8
        })
        .collect()
}

const PHP_LCG: &str = r#"
    function lcg_bytes($n) {
        $x = 1; $s = '';
        for ($i = 0; $i < $n; $i++) {
            $x = ($x * 1103515245 + 12345) & 0x7fffffff;
            $s .= chr(($x >> 16) & 0xff);
        }
        return $s;
    }
"#;

/// `key|type|value` lines printed by the snippets, in order.
fn lines(out: &str) -> Vec<(String, String)> {
    out.lines()
        .map(|l| {
            let (k, rest) = l.split_once('|').unwrap_or_else(|| panic!("bad line {l:?}"));
            (k.to_string(), rest.to_string())
        })
        .collect()
}

#[test]
fn php_memcached_writes_mcring_reads() {
    let mc = Memcached::start_with(&["-I", "4m"]);
    let code = format!(
        r#"{PHP_LCG}
        $m->set('s', "h\u{{e9}}llo");
        $m->set('bin', "\xff\x00abc");
        $m->set('empty', '');
        $m->set('i', -42);
        $m->set('imax', PHP_INT_MAX);
        $m->set('imin', PHP_INT_MIN);
        $m->set('t', true);
        $m->set('f', false);
        $arr = ['a' => 1, 'b' => [1, 2.5, 'x'], 'c' => null, 'd' => "\u{{e9}}"];
        $m->set('json', $arr);
        echo 'json|', json_encode($arr), "\n";

        // Floats: special values, then pseudo-random bit patterns.
        $floats = [0.0, -0.0, 1.5, 0.5, -0.5, 0.1, 1e-5, 0.0001, 1e20, 100000.0, 1000000.0,
                   1.25e100, 5e-324, PHP_FLOAT_MAX, PHP_FLOAT_MIN, INF, -INF, NAN, 0.1 + 0.2, 1/3];
        mt_srand(42);
        for ($i = 0; $i < 3000; $i++) {{
            $floats[] = unpack('E', pack('NN', mt_rand(0, 0xffffffff), mt_rand(0, 0xffffffff)))[1];
        }}
        foreach ($floats as $i => $v) {{
            $m->set("fl$i", $v);
            echo "fl$i|", bin2hex(pack('E', $v)), "\n";
        }}

        $m->setOption(Memcached::OPT_COMPRESSION, true);
        $text = str_repeat("mcring value interop \u{{e9}}t\u{{e9}} ", 500);
        $m->setOption(Memcached::OPT_COMPRESSION_TYPE, Memcached::COMPRESSION_FASTLZ);
        $m->set('fastlz1', $text);
        $m->set('fastlz2', str_repeat(lcg_bytes(20000), 5));
        $m->set('fastlz_json', array_fill(0, 2000, $arr));
        echo 'fastlz_json|', json_encode(array_fill(0, 2000, $arr)), "\n";
        $m->setOption(Memcached::OPT_COMPRESSION_TYPE, Memcached::COMPRESSION_ZLIB);
        $m->set('zlib', $text);
        $m->set('zlib_big', str_repeat(lcg_bytes(20000), 5));

        $m->setOption(Memcached::OPT_USER_FLAGS, 1234);
        $m->set('uflags', 77);
        $m->setOption(Memcached::OPT_USER_FLAGS, -1);

        $m->setOption(Memcached::OPT_COMPRESSION, false);
        $m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_PHP);
        $m->set('phpser', $arr);
        echo 'phpser|', bin2hex(serialize($arr)), "\n";
        $m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_IGBINARY);
        $m->set('igbinary', $arr);
        echo 'igbinary|', bin2hex(igbinary_serialize($arr)), "\n";
        $m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_MSGPACK);
        $m->set('msgpack', $arr);
        echo 'msgpack|', bin2hex(msgpack_pack($arr)), "\n";
    "#
    );
    let out = php(&mc, &code);
    let php = ValueFormat::Php;

    assert_eq!(get(&mc, "s", php), Decoded::Str("héllo".into()));
    assert_eq!(get(&mc, "bin", php), Decoded::Str(b"\xff\x00abc".to_vec()));
    assert_eq!(get(&mc, "empty", php), Decoded::Str(Vec::new()));
    assert_eq!(get(&mc, "i", php), Decoded::Int(-42));
    assert_eq!(get(&mc, "imax", php), Decoded::Int(i64::MAX));
    assert_eq!(get(&mc, "imin", php), Decoded::Int(i64::MIN));
    assert_eq!(raw_get(&mc, "t"), (3, b"1".to_vec()));
    assert_eq!(raw_get(&mc, "f"), (3, Vec::new()));
    assert_eq!(get(&mc, "t", php), Decoded::Bool(true));
    assert_eq!(get(&mc, "f", php), Decoded::Bool(false));

    let mut floats = 0;
    for (key, value) in lines(&out) {
        match key.as_str() {
            "json" => assert_eq!(get(&mc, "json", php), Decoded::Json(value.into_bytes())),
            "fastlz_json" => {
                let (flags, data) = raw_get(&mc, "fastlz_json");
                assert_eq!(flags, 0x56, "JSON, compressed with FastLZ");
                assert_eq!(data.get(4).map(|b| b >> 5), Some(1), "FastLZ level 2 (>= 64 KiB)");
                assert_eq!(get(&mc, "fastlz_json", php), Decoded::Json(value.into_bytes()));
            }
            "phpser" => assert_eq!(get(&mc, &key, php), Decoded::PhpSerialized(unhex(&value))),
            "igbinary" => assert_eq!(get(&mc, &key, php), Decoded::Igbinary(unhex(&value))),
            "msgpack" => assert_eq!(get(&mc, &key, php), Decoded::Msgpack(unhex(&value))),
            k if k.starts_with("fl") => {
                let bits = u64::from_str_radix(&value, 16).unwrap();
                let expected = f64::from_bits(bits);
                let (flags, text) = raw_get(&mc, k);
                assert_eq!(flags, 2);
                let Decoded::Float(got) = get(&mc, k, php) else { panic!("{k} is not a float") };
                let text = String::from_utf8(text).unwrap();
                if expected.is_nan() {
                    assert!(got.is_nan(), "{k}: {text}");
                    assert!(text == "NaN" || text == "-NaN", "{k}: {text}");
                } else {
                    assert_eq!(got.to_bits(), bits, "{k}: php wrote {text}");
                    // mcring writes the very text php-memcached writes.
                    assert_eq!(php_double_text(expected), text, "{k}");
                }
                floats += 1;
            }
            other => panic!("unexpected line {other}"),
        }
    }
    assert_eq!(floats, 3020);

    let text = "mcring value interop été ".repeat(500).into_bytes();
    let (flags, data) = raw_get(&mc, "fastlz1");
    assert_eq!(flags, 0x50, "string, COMPRESSED | FASTLZ");
    assert_eq!(data.get(4).map(|b| b >> 5), Some(0), "FastLZ level 1");
    assert_eq!(get(&mc, "fastlz1", php), Decoded::Str(text.clone()));

    let big = lcg_bytes(20000).repeat(5);
    let (flags, data) = raw_get(&mc, "fastlz2");
    assert_eq!(flags, 0x50);
    assert_eq!(data.get(4).map(|b| b >> 5), Some(1), "FastLZ level 2 (input >= 64 KiB)");
    assert!(data.len() < 40_000, "the repeats compressed through far references");
    assert_eq!(get(&mc, "fastlz2", php), Decoded::Str(big.clone()));

    let (flags, data) = raw_get(&mc, "zlib");
    assert_eq!(flags, 0x30, "string, COMPRESSED | ZLIB");
    assert_eq!(data[..4], (text.len() as u32).to_le_bytes());
    assert_eq!(get(&mc, "zlib", php), Decoded::Str(text));
    assert_eq!(get(&mc, "zlib_big", php), Decoded::Str(big));
    assert_eq!(raw_get(&mc, "zlib_big").0, 0x30);

    let (flags, _) = raw_get(&mc, "uflags");
    assert_eq!(user_flags(flags), 1234);
    assert_eq!(flags & 0xFFFF, 1);
    assert_eq!(get(&mc, "uflags", php), Decoded::Int(77));

    // The decompression cap applies to values php-memcached wrote.
    let (flags, data) = raw_get(&mc, "fastlz2");
    assert_eq!(
        decode(
            &data,
            flags,
            &CodecOptions {
                format: php,
                compress_threshold: 0,
                user_flags: 0,
                max_value_bytes: 1000,
                compression: Compression::default()
            }
        )
        .unwrap_err()
        .to_string(),
        "compressed value claims 100000 bytes, over the limit of 1000 bytes"
    );
}

#[test]
fn mcring_writes_php_memcached_reads() {
    let mc = Memcached::start_with(&["-I", "4m"]);
    let opts = CodecOptions {
        format: ValueFormat::Php,
        compress_threshold: 2000,
        user_flags: 0,
        max_value_bytes: MAX,
        compression: Compression::default(),
    };
    let text = "mcring value interop été ".repeat(500);
    let big = lcg_bytes(20000).repeat(5);
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut check = |key: &str, value: Value<'_>, shown: &str| {
        store(&mc, key, value, &opts);
        expected.push((key.to_string(), shown.to_string()));
    };
    check("s", Value::Str("héllo".as_bytes()), &format!("string|{}", hex("héllo".as_bytes())));
    check("empty", Value::Str(b""), "string|");
    check("bytes", Value::Bytes(b"\xff\x00raw"), "string|ff00726177");
    check("i", Value::Int(-42), "integer|-42");
    check("imax", Value::Int(i64::MAX), "integer|9223372036854775807");
    check("imin", Value::Int(i64::MIN), "integer|-9223372036854775807-1");
    check("t", Value::Bool(true), "boolean|true");
    check("f", Value::Bool(false), "boolean|false");
    check(
        "json",
        Value::Json(br#"{"a":1,"b":[1,2.5,"x"],"c":null}"#),
        r#"array|{"a":1,"b":[1,2.5,"x"],"c":null}"#,
    );
    check("phpser", Value::PhpSerialized(br#"a:1:{s:1:"k";i:5;}"#), r#"array|{"k":5}"#);
    check("zlib", Value::Str(text.as_bytes()), &format!("string|{}", hex(text.as_bytes())));
    check("zlib_bytes", Value::Bytes(&big), &format!("string|{}", hex(&big)));
    check(
        "zlib_json",
        Value::Json(format!("[\"{text}\"]").as_bytes()),
        &format!("array|[\"{text}\"]"),
    );

    // Floats: specials and pseudo-random bit patterns (NaN checked apart).
    let mut specials = vec![0.0, -0.0, 1.5, 0.5, -0.5, 0.1, 1e-5, 1e20, 5e-324, f64::MAX];
    specials.extend([f64::MIN_POSITIVE, f64::INFINITY, f64::NEG_INFINITY, 1.0 / 3.0]);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let randoms = (0..3000).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        f64::from_bits(x)
    });
    for (i, f) in specials.into_iter().chain(randoms).filter(|f| !f.is_nan()).enumerate() {
        check(&format!("fl{i}"), Value::Float(f), &format!("double|{:016x}", f.to_bits()));
    }
    check("nan", Value::Float(f64::NAN), "double|NAN");

    // Pickles are refused by php-memcached (unknown type), not read as strings.
    check(
        "pickle",
        Value::Pickle(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x05."),
        "refused",
    );

    // Integers stay incrementable.
    store(&mc, "counter", Value::Int(41), &opts);
    assert_eq!(mc.raw(b"incr counter 1\r\n", b"\r\n"), b"42\r\n");
    expected.push(("counter".into(), "integer|42".into()));

    // User flags.
    let e = encode(&Value::Str(b"flagged"), &CodecOptions { user_flags: 4321, ..opts }).unwrap();
    raw_set(&mc, "uflags", e.flags, &e.data);
    assert_eq!(raw_get(&mc, "zlib").0, 0x30);
    assert_eq!(raw_get(&mc, "zlib_bytes").0, 0x8030);
    assert_eq!(raw_get(&mc, "bytes").0, 0x8000);

    let keys: Vec<String> = expected.iter().map(|(k, _)| format!("'{k}'")).collect();
    let code = format!(
        r#"
        $m->setOption(Memcached::OPT_SERIALIZER, Memcached::SERIALIZER_JSON_ARRAY);
        foreach ([{keys}] as $k) {{
            $v = @$m->get($k);
            $rc = $m->getResultCode();
            if ($v === false && $rc != Memcached::RES_SUCCESS) {{
                echo $k, '|', $rc == Memcached::RES_NOTFOUND ? 'missing' : 'refused', "\n";
                continue;
            }}
            if (is_string($v)) $shown = bin2hex($v);
            elseif (is_float($v)) $shown = is_nan($v) ? 'NAN' : bin2hex(pack('E', $v));
            elseif (is_array($v)) $shown = json_encode($v, JSON_UNESCAPED_UNICODE);
            else $shown = var_export($v, true);
            echo $k, '|', gettype($v), '|', $shown, "\n";
        }}
        $x = $m->get('uflags', null, Memcached::GET_EXTENDED);
        echo 'uflags|', $x['value'], '|', $x['flags'], "\n";
    "#,
        keys = keys.join(",")
    );
    let out = php(&mc, &code);
    let got = lines(&out);
    assert_eq!(got.len(), expected.len() + 1, "{out}");
    for ((key, shown), (want_key, want)) in got.iter().zip(&expected) {
        assert_eq!(key, want_key);
        assert_eq!(shown, want, "{key}");
    }
    assert_eq!(got.last().unwrap(), &("uflags".to_string(), "flagged|4321".to_string()));
}

#[test]
fn pylibmc_writes_mcring_reads() {
    let mc = Memcached::start_with(&["-I", "4m"]);
    python(
        &mc,
        r#"
c.set('b', b'\xff\x00bytes')
c.set('s', 'h\u00e9llo')
c.set('empty', '')
c.set('i', -42)
c.set('big', 2**100)
c.set('negbig', -2**70)
c.set('t', True)
c.set('f', False)
c.set('fl', 1.5)
c.set('d', {'a': [1, 2]})
c.set('zs', 'mcring value interop \u00e9t\u00e9 ' * 500, min_compress_len=100)
c.set('zb', b'xyz' * 5000, min_compress_len=100)
c.set('zi', 10**400, min_compress_len=100)
"#,
    );
    let py = ValueFormat::Pylibmc;
    assert_eq!(raw_get(&mc, "b").0, 0);
    assert_eq!(get(&mc, "b", py), Decoded::Bytes(b"\xff\x00bytes".to_vec()));
    assert_eq!(raw_get(&mc, "s").0, 16);
    assert_eq!(get(&mc, "s", py), Decoded::Str("héllo".into()));
    assert_eq!(get(&mc, "empty", py), Decoded::Str(Vec::new()));
    assert_eq!(raw_get(&mc, "i"), (4, b"-42".to_vec()));
    assert_eq!(get(&mc, "i", py), Decoded::Int(-42));
    assert_eq!(get(&mc, "big", py), Decoded::BigInt("1267650600228229401496703205376".into()));
    assert_eq!(get(&mc, "negbig", py), Decoded::BigInt("-1180591620717411303424".into()));
    assert_eq!(raw_get(&mc, "t"), (2, b"1".to_vec()));
    assert_eq!(get(&mc, "t", py), Decoded::Int(1));
    assert_eq!(get(&mc, "f", py), Decoded::Int(0));
    assert_eq!(raw_get(&mc, "fl").0, 1);
    let Decoded::Pickle(p) = get(&mc, "fl", py) else { panic!("a float is a pickle") };
    let binfloat: Vec<u8> = [b'G'].into_iter().chain(1.5f64.to_be_bytes()).collect();
    assert!(p.windows(9).any(|w| w == binfloat), "pickled 1.5");
    assert!(matches!(get(&mc, "d", py), Decoded::Pickle(_)));
    assert_eq!(raw_get(&mc, "zs").0, 16 | 8);
    assert_eq!(get(&mc, "zs", py), Decoded::Str("mcring value interop été ".repeat(500).into()));
    assert_eq!(raw_get(&mc, "zb").0, 8);
    assert_eq!(get(&mc, "zb", py), Decoded::Bytes(b"xyz".repeat(5000)));
    assert_eq!(raw_get(&mc, "zi").0, 4 | 8);
    assert_eq!(get(&mc, "zi", py), Decoded::BigInt(format!("1{}", "0".repeat(400))));
    let (flags, data) = raw_get(&mc, "zb");
    assert_eq!(
        decode(
            &data,
            flags,
            &CodecOptions {
                format: py,
                compress_threshold: 0,
                user_flags: 0,
                max_value_bytes: 1000,
                compression: Compression::default()
            }
        )
        .unwrap_err()
        .to_string(),
        "compressed value inflates past the limit of 1000 bytes"
    );
}

#[test]
fn mcring_writes_pylibmc_reads() {
    let mc = Memcached::start();
    let opts = CodecOptions {
        format: ValueFormat::Pylibmc,
        compress_threshold: 100,
        user_flags: 0,
        max_value_bytes: MAX,
        compression: Compression::default(),
    };
    let text = "mcring value interop été ".repeat(500);
    let blob = b"xyz".repeat(5000);
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut check = |key: &str, value: Value<'_>, shown: &str| {
        store(&mc, key, value, &opts);
        expected.push((key.to_string(), shown.to_string()));
    };
    check("b", Value::Bytes(b"\xff\x00raw"), "bytes|ff00726177");
    check("s", Value::Str("héllo".as_bytes()), &format!("str|{}", hex("héllo".as_bytes())));
    check("empty", Value::Str(b""), "str|");
    check("i", Value::Int(-42), "int|-42");
    check("imin", Value::Int(i64::MIN), "int|-9223372036854775808");
    check("t", Value::Bool(true), "int|1");
    check("f", Value::Bool(false), "int|0");
    check("fl", Value::Float(1.5), "float|1.5");
    check("fl3", Value::Float(1.0 / 3.0), "float|0.3333333333333333");
    check("inf", Value::Float(f64::NEG_INFINITY), "float|-inf");
    // A pickle made by hand: protocol 2, {'a': 1}.
    check("d", Value::Pickle(b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."), "dict|{'a': 1}");
    check("zs", Value::Str(text.as_bytes()), &format!("str|{}", hex(text.as_bytes())));
    check("zb", Value::Bytes(&blob), &format!("bytes|{}", hex(&blob)));
    assert_eq!(raw_get(&mc, "zs").0, 16 | 8);
    assert_eq!(raw_get(&mc, "zb").0, 8);

    let keys: Vec<String> = expected.iter().map(|(k, _)| format!("'{k}'")).collect();
    let code = format!(
        r#"
for k in [{keys}]:
    v = c.get(k)
    if isinstance(v, bytes): shown = v.hex()
    elif isinstance(v, str): shown = v.encode().hex()
    else: shown = repr(v)
    print('%s|%s|%s' % (k, type(v).__name__, shown))
"#,
        keys = keys.join(",")
    );
    let out = python(&mc, &code);
    let got = lines(&out);
    assert_eq!(got.len(), expected.len(), "{out}");
    for ((key, shown), (want_key, want)) in got.iter().zip(&expected) {
        assert_eq!(key, want_key);
        assert_eq!(shown, want, "{key}");
    }
}
