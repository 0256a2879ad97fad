//! Python values to the engine's codec and back.
//!
//! The flags and bytes are the codec's (`mcring::value`), shared with PHP
//! and C; this file only picks the codec's kind for a Python object and
//! builds Python objects from what the codec decoded. Structures go through
//! Python's own `json` (or `pickle`, opt-in).

use mcring::config::{Serializer, ValueFormat};
use mcring::value::{self, CodecOptions, Decoded, Encoded, Value, ValueError};
use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::errors;

static JSON_ENCODE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PICKLE_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PICKLE_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `json.JSONEncoder(separators=(",", ":")).encode`: compact JSON, as PHP's
/// `json_encode` writes it. Made once (`json.dumps` with arguments builds a
/// new encoder on every call).
fn json_encode(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    JSON_ENCODE
        .get_or_try_init(py, || {
            let kwargs = PyDict::new(py);
            kwargs.set_item("separators", (",", ":"))?;
            let encoder = py.import("json")?.getattr("JSONEncoder")?.call((), Some(&kwargs))?;
            Ok::<_, PyErr>(encoder.getattr("encode")?.unbind())
        })
        .map(|f| f.bind(py))
}

/// How a client turns values into stored bytes and flags, and back.
#[derive(Clone, Copy, Debug)]
pub struct Codec {
    /// The codec's options (flags convention, compression threshold, size
    /// limit).
    pub options: CodecOptions,
    /// How dicts, lists and `None` are stored.
    pub serializer: Serializer,
    /// `value_format="raw"`: values are bytes stored as they are, with the
    /// flags the caller gives, and read back as bytes with their flags
    /// (for a serializer of the caller's own, such as pymemcache's serde).
    pub raw: bool,
}

/// A stored string that needs no decoding; see [`Codec::plain`].
#[derive(Clone, Copy)]
pub enum PlainKind {
    /// A text string: `str` when it is UTF-8, `bytes` otherwise.
    Text,
    /// `bytes`.
    Bytes,
}

/// The Python object for a plain stored string.
pub fn plain_value(py: Python<'_>, kind: PlainKind, data: &[u8]) -> Py<PyAny> {
    match kind {
        PlainKind::Text => match std::str::from_utf8(data) {
            Ok(text) => PyString::new(py, text).into_any().unbind(),
            // A PHP string that is not UTF-8 text stays bytes.
            Err(_) => PyBytes::new(py, data).into_any().unbind(),
        },
        PlainKind::Bytes => PyBytes::new(py, data).into_any().unbind(),
    }
}

/// The codec's kind of a Python value, with its bytes kept alive.
pub struct Prepared<'py> {
    payload: Option<Bound<'py, PyBytes>>,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bytes,
    Json,
    Pickle,
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Prepared<'_> {
    /// The value for the codec, borrowing the kept bytes (`Send`, so it can
    /// be encoded with the GIL released).
    pub fn value(&self) -> Value<'_> {
        let bytes = self.payload.as_ref().map_or(&[][..], |b| b.as_bytes());
        match self.kind {
            Kind::Str => Value::Str(bytes),
            Kind::Bytes => Value::Bytes(bytes),
            Kind::Json => Value::Json(bytes),
            Kind::Pickle => Value::Pickle(bytes),
            Kind::Int(i) => Value::Int(i),
            Kind::Float(x) => Value::Float(x),
            Kind::Bool(b) => Value::Bool(b),
        }
    }
}

impl Codec {
    /// Whether values may be pickled on write: with `serializer="pickle"`,
    /// and always in pylibmc format (pylibmc pickles whatever has no flag).
    fn pickles(&self) -> bool {
        self.serializer == Serializer::Pickle || self.options.format == ValueFormat::Pylibmc
    }

    /// Picks the codec's kind for `obj`. `bool` is checked before `int`
    /// (it is a subclass).
    pub fn prepare<'py>(&self, obj: &Bound<'py, PyAny>) -> PyResult<Prepared<'py>> {
        let py = obj.py();
        let plain = |kind| Ok(Prepared { payload: None, kind });
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Prepared { payload: Some(b.clone()), kind: Kind::Bytes });
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Prepared { payload: Some(s.encode_utf8()?), kind: Kind::Str });
        }
        if self.raw {
            let type_name = obj.get_type().name()?;
            return Err(errors::bad_value(
                py,
                format!("value_format=\"raw\" stores str and bytes, not {type_name}"),
            ));
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return plain(Kind::Bool(b.is_true()));
        }
        if obj.is_instance_of::<PyInt>() {
            return match obj.extract::<i64>() {
                Ok(i) => plain(Kind::Int(i)),
                Err(_) if self.pickles() => self.pickle(obj),
                Err(_) => Err(errors::bad_value(
                    py,
                    "int does not fit in 64 bits, which is all PHP and memcached's incr know; \
                     use serializer=\"pickle\" to store it for Python only"
                        .to_string(),
                )),
            };
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return plain(Kind::Float(f.value()));
        }
        let structure =
            obj.is_none() || obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyList>();
        if self.pickles() {
            return self.pickle(obj);
        }
        if structure {
            let text = json_encode(py)?.call1((obj,)).map_err(|e| {
                let err = errors::bad_value(py, format!("cannot store as JSON: {e}"));
                err.set_cause(py, Some(e));
                err
            })?;
            let text = text.cast::<PyString>()?.encode_utf8()?;
            return Ok(Prepared { payload: Some(text), kind: Kind::Json });
        }
        let type_name = obj.get_type().name()?;
        Err(errors::bad_value(
            py,
            format!(
                "cannot store a {type_name}: values are str, bytes, int, float, bool, and dict, \
                 list or None as JSON; use serializer=\"pickle\" to store other Python objects"
            ),
        ))
    }

    /// Pickles `obj`: with the highest protocol in pylibmc format (pylibmc's
    /// `pickle_protocol=-1`, so the bytes are pylibmc's), the default one
    /// otherwise.
    fn pickle<'py>(&self, obj: &Bound<'py, PyAny>) -> PyResult<Prepared<'py>> {
        let dumps = PICKLE_DUMPS.import(obj.py(), "pickle", "dumps")?;
        let protocol: Option<i32> =
            if self.options.format == ValueFormat::Pylibmc { Some(-1) } else { None };
        let data = dumps
            .call1((obj, protocol))
            .map_err(|e| {
                let py = obj.py();
                let err = errors::bad_value(py, format!("cannot pickle the value: {e}"));
                err.set_cause(py, Some(e));
                err
            })?
            .cast_into::<PyBytes>()?;
        Ok(Prepared { payload: Some(data), kind: Kind::Pickle })
    }

    /// Checks the caller's `flags` before anything is sent: 16 bits of the
    /// application's own (bits 16–31 of the stored flags), 32 in raw format.
    pub fn check_flags(&self, py: Python<'_>, flags: u32) -> PyResult<()> {
        if !self.raw && flags > u32::from(u16::MAX) {
            return Err(errors::bad_value(
                py,
                format!(
                    "flags must be between 0 and 65535 (the application's 16 bits beside \
                     the value's type), not {flags}; value_format=\"raw\" takes all 32"
                ),
            ));
        }
        Ok(())
    }

    /// Encodes a prepared value (compressing it when long enough) with the
    /// caller's `flags` (see [`Codec::check_flags`]); runs with the GIL
    /// released.
    pub fn encode<'a>(&self, value: &Value<'a>, flags: u32) -> mcring::Result<Encoded<'a>> {
        if self.raw {
            let data = match *value {
                Value::Str(b) | Value::Bytes(b) => b,
                _ => return Err(mcring::Error::BadValue("raw values are bytes".to_string())),
            };
            return Ok(Encoded { data: Cow::Borrowed(data), flags });
        }
        let options = CodecOptions { user_flags: flags as u16, ..self.options };
        value::encode(value, &options).map_err(|e| mcring::Error::BadValue(e.to_string()))
    }

    /// Decodes a stored value's bytes and flags; runs with the GIL released.
    pub fn decode(&self, data: &[u8], flags: u32) -> Result<Decoded, ValueError> {
        if self.raw {
            return Ok(Decoded::Bytes(data.to_vec()));
        }
        value::decode(data, flags, &self.options)
    }

    /// The caller's part of a stored value's flags: bits 16–31, or all of
    /// them in raw format.
    #[inline]
    pub fn caller_flags(&self, stored: u32) -> u32 {
        if self.raw {
            stored
        } else {
            u32::from(value::user_flags(stored))
        }
    }

    /// Whether values stored with `flags` are plain strings the codec would
    /// return as they are (no compression, no conversion): then a binding
    /// can build its object straight from the stored bytes.
    #[inline]
    pub fn plain(&self, flags: u32) -> Option<PlainKind> {
        if self.raw {
            return Some(PlainKind::Bytes);
        }
        match mcring::value::plain_string(flags, self.options.format)? {
            mcring::value::PlainString::Text => Some(PlainKind::Text),
            mcring::value::PlainString::Bytes => Some(PlainKind::Bytes),
        }
    }

    /// The Python value of a decoded value, or `UnreadableValueError`.
    pub fn python_value(
        &self,
        py: Python<'_>,
        decoded: Result<Decoded, ValueError>,
    ) -> PyResult<Py<PyAny>> {
        let decoded = decoded.map_err(|e| errors::unreadable(py, format!("stored value: {e}")))?;
        Ok(match decoded {
            Decoded::Str(data) => match String::from_utf8(data) {
                Ok(text) => PyString::new(py, &text).into_any().unbind(),
                // A PHP string that is not UTF-8 text stays bytes.
                Err(e) => PyBytes::new(py, e.as_bytes()).into_any().unbind(),
            },
            Decoded::Bytes(data) => PyBytes::new(py, &data).into_any().unbind(),
            Decoded::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
            Decoded::BigInt(text) => py.get_type::<PyInt>().call1((text,))?.unbind(),
            Decoded::Float(x) => PyFloat::new(py, x).into_any().unbind(),
            Decoded::Bool(b) => PyBool::new(py, b).to_owned().into_any().unbind(),
            Decoded::Json(data) => {
                let loads = JSON_LOADS.import(py, "json", "loads")?;
                loads.call1((PyBytes::new(py, &data),))?.unbind()
            }
            Decoded::Pickle(data) => {
                if !self.pickles() {
                    return Err(errors::unreadable(
                        py,
                        "stored value is a Python pickle, which this client does not load: \
                         pass serializer=\"pickle\" to read pickles (only from a cache that \
                         only trusted clients write)"
                            .to_string(),
                    ));
                }
                let loads = PICKLE_LOADS.import(py, "pickle", "loads")?;
                loads.call1((PyBytes::new(py, &data),))?.unbind()
            }
            Decoded::PhpSerialized(_) => return Err(php_only(py, "PHP's serialize()")),
            Decoded::Igbinary(_) => return Err(php_only(py, "igbinary")),
            Decoded::Msgpack(_) => return Err(php_only(py, "msgpack")),
        })
    }
}

fn php_only(py: Python<'_>, serializer: &str) -> PyErr {
    errors::unreadable(
        py,
        format!(
            "stored value was serialized by php-memcached with {serializer}, which Python \
             cannot read; have PHP write structures as JSON (Memcached::SERIALIZER_JSON)"
        ),
    )
}

/// The bytes of an `append`/`prepend` payload: `str` (UTF-8) or `bytes`,
/// added to the stored bytes as they are.
pub fn raw_payload<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.clone());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s.encode_utf8();
    }
    let type_name = obj.get_type().name()?;
    Err(errors::bad_value(
        obj.py(),
        format!("append and prepend take str or bytes, not {type_name}"),
    ))
}
