//! Numeric element traits the kernels are generic over: arithmetic with ONNX
//! semantics per dtype (wrapping integers, f16 computed in f32) and a total order.

use crate::Element;
use half::f16;
use std::cmp::Ordering;

/// A numeric element type (every dtype except bool).
pub(super) trait Num: Element + PartialOrd {
    fn zero() -> Self;
    fn one() -> Self;
    /// Identity of `max` (floats: -inf).
    fn lowest() -> Self;
    /// Identity of `min` (floats: +inf).
    fn highest() -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// Integers truncate toward zero (the caller rules out a zero divisor).
    fn div(self, o: Self) -> Self;
    /// Remainder with the sign of the divisor (Python `%`, ONNX `Mod` fmod=0).
    fn rem_floor(self, o: Self) -> Self;
    /// Remainder with the sign of the dividend (C `fmod`, ONNX `Mod` fmod=1).
    fn rem_trunc(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
    /// A total order (floats: IEEE total order, NaN above +inf).
    fn total_cmp(&self, o: &Self) -> Ordering;
    /// `max` that propagates NaN (numpy `maximum`).
    fn max_nan(self, o: Self) -> Self {
        if self.is_nan() || o > self {
            if self.is_nan() {
                self
            } else {
                o
            }
        } else {
            self
        }
    }
    /// `min` that propagates NaN (numpy `minimum`).
    fn min_nan(self, o: Self) -> Self {
        if self.is_nan() || o < self {
            if self.is_nan() {
                self
            } else {
                o
            }
        } else {
            self
        }
    }
}

macro_rules! signed_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            fn zero() -> Self { 0 }
            fn one() -> Self { 1 }
            fn lowest() -> Self { <$t>::MIN }
            fn highest() -> Self { <$t>::MAX }
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn div(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_div(o) } }
            fn rem_floor(self, o: Self) -> Self {
                if o == 0 { return 0; }
                let r = self.wrapping_rem(o);
                if r != 0 && ((r < 0) != (o < 0)) { r.wrapping_add(o) } else { r }
            }
            fn rem_trunc(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_rem(o) } }
            fn neg(self) -> Self { self.wrapping_neg() }
            fn abs(self) -> Self { self.wrapping_abs() }
            fn is_nan(self) -> bool { false }
            fn total_cmp(&self, o: &Self) -> Ordering { self.cmp(o) }
        }
    )*};
}
signed_num!(i8, i16, i32, i64);

macro_rules! unsigned_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            fn zero() -> Self { 0 }
            fn one() -> Self { 1 }
            fn lowest() -> Self { 0 }
            fn highest() -> Self { <$t>::MAX }
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn div(self, o: Self) -> Self { self.checked_div(o).unwrap_or(0) }
            fn rem_floor(self, o: Self) -> Self { self.checked_rem(o).unwrap_or(0) }
            fn rem_trunc(self, o: Self) -> Self { self.checked_rem(o).unwrap_or(0) }
            fn neg(self) -> Self { self.wrapping_neg() }
            fn abs(self) -> Self { self }
            fn is_nan(self) -> bool { false }
            fn total_cmp(&self, o: &Self) -> Ordering { self.cmp(o) }
        }
    )*};
}
unsigned_num!(u8, u16, u32, u64);

macro_rules! float_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            fn zero() -> Self { 0.0 }
            fn one() -> Self { 1.0 }
            fn lowest() -> Self { <$t>::NEG_INFINITY }
            fn highest() -> Self { <$t>::INFINITY }
            fn add(self, o: Self) -> Self { self + o }
            fn sub(self, o: Self) -> Self { self - o }
            fn mul(self, o: Self) -> Self { self * o }
            fn div(self, o: Self) -> Self { self / o }
            fn rem_floor(self, o: Self) -> Self {
                let r = self % o;
                if r != 0.0 && ((r < 0.0) != (o < 0.0)) { r + o } else { r }
            }
            fn rem_trunc(self, o: Self) -> Self { self % o }
            fn neg(self) -> Self { -self }
            fn abs(self) -> Self { <$t>::abs(self) }
            fn is_nan(self) -> bool { <$t>::is_nan(self) }
            fn total_cmp(&self, o: &Self) -> Ordering { <$t>::total_cmp(self, o) }
        }
    )*};
}
float_num!(f32, f64);

/// f16 arithmetic rounds each result from f32, like onnxruntime's CPU kernels.
impl Num for f16 {
    fn zero() -> Self {
        f16::ZERO
    }
    fn one() -> Self {
        f16::ONE
    }
    fn lowest() -> Self {
        f16::NEG_INFINITY
    }
    fn highest() -> Self {
        f16::INFINITY
    }
    fn add(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() + o.to_f32())
    }
    fn sub(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() - o.to_f32())
    }
    fn mul(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() * o.to_f32())
    }
    fn div(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() / o.to_f32())
    }
    fn rem_floor(self, o: Self) -> Self {
        f16::from_f32(self.to_f32().rem_floor(o.to_f32()))
    }
    fn rem_trunc(self, o: Self) -> Self {
        f16::from_f32(self.to_f32() % o.to_f32())
    }
    fn neg(self) -> Self {
        -self
    }
    fn abs(self) -> Self {
        f16::from_bits(self.to_bits() & 0x7fff)
    }
    fn is_nan(self) -> bool {
        f16::is_nan(self)
    }
    fn total_cmp(&self, o: &Self) -> Ordering {
        f16::total_cmp(self, o)
    }
}

/// Integer element types (bitwise ops and shifts).
pub(super) trait Int:
    Num
    + std::ops::BitAnd<Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::BitXor<Output = Self>
    + std::ops::Not<Output = Self>
{
    /// Shift by `n` bits; shifting out every bit gives 0.
    fn shl(self, n: Self) -> Self;
    fn shr(self, n: Self) -> Self;
}

macro_rules! int_impl {
    ($($t:ty),*) => {$(
        impl Int for $t {
            fn shl(self, n: Self) -> Self {
                u32::try_from(n).ok().and_then(|n| self.checked_shl(n)).unwrap_or(0)
            }
            fn shr(self, n: Self) -> Self {
                u32::try_from(n).ok().and_then(|n| self.checked_shr(n)).unwrap_or(0)
            }
        }
    )*};
}
int_impl!(i8, i16, i32, i64, u8, u16, u32, u64);
