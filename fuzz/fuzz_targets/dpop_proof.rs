//! Any bytes as a DPoP proof, and as the request URI and method a genuine proof is checked
//! against: never a panic, and a proof passes only with the key and the facts it was made for.
//!
//! Input: one byte choosing the use, then the text.
//! - even: the text is the `DPoP` header value, checked for the §7.1 request of RFC 9449;
//! - odd: the text is `METHOD URI`, against which RFC 9449 §7.1's own proof is checked (the
//!   fuzzer cannot sign, so this is how `htm`, `htu` normalisation and the rest are reached);
//! - either way, the text is also given to `jwk_thumbprint`.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use bearer_guard::dpop::{DpopRequest, DpopSettings, DpopVerifier, jwk_thumbprint};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;

const PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
const TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const URI: &str = "https://resource.example.org/protectedresource";

fuzz_target!(|data: &[u8]| {
    let Some((&choice, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let _ = jwk_thumbprint(text);
    let Ok(verifier) = DpopVerifier::new(DpopSettings::default()) else {
        return;
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_562_262_620);
    if choice % 2 == 0 {
        let Ok(header) = HeaderValue::from_str(text) else {
            return;
        };
        let request = DpopRequest::new("GET", URI, now).access_token(TOKEN, Some(JKT));
        if let Ok(proof) = verifier.verify([&header], &request) {
            // Only the RFC's key could have signed it.
            assert_eq!(proof.thumbprint(), JKT);
        }
    } else {
        let (method, uri) = text.split_once(' ').unwrap_or((text, ""));
        let request = DpopRequest::new(method, uri, now).access_token(TOKEN, Some(JKT));
        let header = HeaderValue::from_static(PROOF);
        if verifier.verify([&header], &request).is_ok() {
            assert_eq!(method, "GET");
        }
    }
});
