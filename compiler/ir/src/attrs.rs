//! Op attribute values and the conversions that let the op table print, parse and
//! compare attributes generically.

use crate::DType;
use std::collections::BTreeMap;

/// An attribute value as the textual IR writes it.
#[derive(Clone, PartialEq, Debug)]
pub enum Attr {
    Int(i64),
    /// Stored as f64 so `f64` fields round-trip; `f32` fields widen exactly.
    Float(f64),
    Bool(bool),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Str(String),
    Strs(Vec<String>),
    DType(DType),
}

/// Attribute errors raised when building an op from named attributes.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AttrError {
    #[error("unknown op `{0}`")]
    UnknownOp(String),
    #[error("op `{op}`: missing attribute `{attr}`")]
    Missing {
        op: &'static str,
        attr: &'static str,
    },
    #[error("op `{op}`: attribute `{attr}` has the wrong kind (expected {expected})")]
    WrongKind {
        op: &'static str,
        attr: &'static str,
        expected: &'static str,
    },
    #[error("op `{op}`: unknown attribute `{attr}`")]
    Unknown { op: &'static str, attr: String },
}

/// A Rust type usable as an op field: converts to and from [`Attr`].
pub trait AttrType: Sized {
    /// Human-readable kind for error messages.
    const KIND: &'static str;
    /// `None` means "omit when printing" (only `Option` fields do that).
    fn to_attr(&self) -> Option<Attr>;
    fn from_attr(a: &Attr) -> Option<Self>;
    /// Value when the attribute is absent: `None` means it is required.
    fn absent() -> Option<Self> {
        None
    }
}

impl AttrType for i64 {
    const KIND: &'static str = "int";
    fn to_attr(&self) -> Option<Attr> {
        Some(Attr::Int(*self))
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        match a {
            Attr::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl AttrType for f32 {
    const KIND: &'static str = "float";
    fn to_attr(&self) -> Option<Attr> {
        Some(Attr::Float(*self as f64))
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        match a {
            Attr::Float(v) => Some(*v as f32),
            Attr::Int(v) => Some(*v as f32),
            _ => None,
        }
    }
}

impl AttrType for f64 {
    const KIND: &'static str = "float";
    fn to_attr(&self) -> Option<Attr> {
        Some(Attr::Float(*self))
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        match a {
            Attr::Float(v) => Some(*v),
            Attr::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
}

impl AttrType for bool {
    const KIND: &'static str = "bool";
    fn to_attr(&self) -> Option<Attr> {
        Some(Attr::Bool(*self))
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        match a {
            Attr::Bool(v) => Some(*v),
            _ => None,
        }
    }
}

impl AttrType for Vec<i64> {
    const KIND: &'static str = "int list";
    fn to_attr(&self) -> Option<Attr> {
        Some(Attr::Ints(self.clone()))
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        match a {
            Attr::Ints(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl AttrType for Vec<f32> {
    const KIND: &'static str = "float list";
    fn to_attr(&self) -> Option<Attr> {
        Some(Attr::Floats(self.clone()))
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        match a {
            Attr::Floats(v) => Some(v.clone()),
            // `[]` parses as an empty int list; accept it for float lists too.
            Attr::Ints(v) if v.is_empty() => Some(Vec::new()),
            _ => None,
        }
    }
}

impl AttrType for String {
    const KIND: &'static str = "string";
    fn to_attr(&self) -> Option<Attr> {
        Some(Attr::Str(self.clone()))
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        match a {
            Attr::Str(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl AttrType for Vec<String> {
    const KIND: &'static str = "string list";
    fn to_attr(&self) -> Option<Attr> {
        Some(Attr::Strs(self.clone()))
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        match a {
            Attr::Strs(v) => Some(v.clone()),
            Attr::Ints(v) if v.is_empty() => Some(Vec::new()),
            _ => None,
        }
    }
}

impl AttrType for DType {
    const KIND: &'static str = "dtype";
    fn to_attr(&self) -> Option<Attr> {
        Some(Attr::DType(*self))
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        match a {
            Attr::DType(v) => Some(*v),
            _ => None,
        }
    }
}

impl<T: AttrType> AttrType for Option<T> {
    const KIND: &'static str = T::KIND;
    fn to_attr(&self) -> Option<Attr> {
        self.as_ref().and_then(T::to_attr)
    }
    fn from_attr(a: &Attr) -> Option<Self> {
        T::from_attr(a).map(Some)
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
}

/// Takes attribute `attr` of op `op` out of `attrs`, converting it to `T`.
pub fn take_attr<T: AttrType>(
    attrs: &mut BTreeMap<String, Attr>,
    op: &'static str,
    attr: &'static str,
) -> Result<T, AttrError> {
    match attrs.remove(attr) {
        Some(a) => T::from_attr(&a).ok_or(AttrError::WrongKind {
            op,
            attr,
            expected: T::KIND,
        }),
        None => T::absent().ok_or(AttrError::Missing { op, attr }),
    }
}

/// Declares a closed string-valued enum usable as an op attribute
/// (printed as its string, e.g. `auto_pad="SAME_UPPER"`).
macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
            /// Every accepted spelling, for error messages.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
        }

        impl $crate::attrs::AttrType for $name {
            const KIND: &'static str = stringify!($name);
            fn to_attr(&self) -> Option<$crate::attrs::Attr> {
                Some($crate::attrs::Attr::Str(self.as_str().to_string()))
            }
            fn from_attr(a: &$crate::attrs::Attr) -> Option<Self> {
                match a {
                    $crate::attrs::Attr::Str(s) => $name::parse(s),
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use str_enum;
