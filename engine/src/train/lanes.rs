//! Four f32 lanes, as the machine has them: SSE on x86-64 (every x86-64 CPU has it), simd128 in the
//! browser, plain arrays elsewhere. Multiplies and adds are separate, never fused, so every lane rounds
//! as the scalar `a + b * c` does.

#[cfg(target_arch = "x86_64")]
mod arch {
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub struct F32x4(__m128);

    impl F32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            // SAFETY: SSE is part of x86-64.
            Self(unsafe { _mm_setzero_ps() })
        }
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            // SAFETY: SSE is part of x86-64.
            Self(unsafe { _mm_set1_ps(v) })
        }
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            assert!(s.len() >= 4);
            // SAFETY: four values are there (asserted); unaligned loads are allowed.
            Self(unsafe { _mm_loadu_ps(s.as_ptr()) })
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            assert!(s.len() >= 4);
            // SAFETY: four values are there (asserted); unaligned stores are allowed.
            unsafe { _mm_storeu_ps(s.as_mut_ptr(), self.0) }
        }
        /// `self + a · b`, rounded after the product and after the sum.
        #[inline(always)]
        pub fn add_mul(self, a: Self, b: Self) -> Self {
            // SAFETY: SSE is part of x86-64.
            Self(unsafe { _mm_add_ps(self.0, _mm_mul_ps(a.0, b.0)) })
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod arch {
    use std::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self(f32x4_splat(0.0))
        }
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            Self(f32x4_splat(v))
        }
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            assert!(s.len() >= 4);
            // SAFETY: four values are there (asserted); wasm loads need no alignment.
            Self(unsafe { v128_load(s.as_ptr().cast()) })
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            assert!(s.len() >= 4);
            // SAFETY: four values are there (asserted); wasm stores need no alignment.
            unsafe { v128_store(s.as_mut_ptr().cast(), self.0) }
        }
        /// `self + a · b`, rounded after the product and after the sum.
        #[inline(always)]
        pub fn add_mul(self, a: Self, b: Self) -> Self {
            Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
    }
}

#[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
mod arch {
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        pub fn zero() -> Self {
            Self([0.0; 4])
        }
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            Self([v; 4])
        }
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            Self([s[0], s[1], s[2], s[3]])
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            s[..4].copy_from_slice(&self.0);
        }
        /// `self + a · b`, rounded after the product and after the sum.
        #[inline(always)]
        pub fn add_mul(self, a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
        }
    }
}

pub(crate) use arch::F32x4;
