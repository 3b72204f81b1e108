//! A QR code drawn on the server as inline SVG: no image library, no
//! script, nothing fetched (and no style attribute the CSP would refuse).

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

use crate::error::AppError;

/// Light modules around the code, as the QR standard asks of readers.
const QUIET_ZONE: usize = 4;

/// `data` as a QR code (error correction M): an `<svg role="img">` named
/// `label`, dark modules on white whatever the page's colour scheme, since
/// readers expect that. `label` is written into an attribute as is: pass
/// text of our own.
pub fn svg(data: &str, label: &'static str) -> Result<String, AppError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).map_err(AppError::unexpected)?;
    let width = code.width();
    let modules = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in modules.chunks(width).enumerate() {
        // One rectangle per run of dark modules in a row.
        let mut x = 0;
        while x < width {
            if row[x] != Color::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] == Color::Dark {
                x += 1;
            }
            let run = x - start;
            write!(path, "M{} {}h{run}v1h-{run}z", start + QUIET_ZONE, y + QUIET_ZONE).map_err(AppError::unexpected)?;
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr-code\" viewBox=\"0 0 {size} {size}\" \
         role=\"img\" aria-label=\"{label}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dark_module_is_drawn_inside_the_quiet_zone() {
        let data = "otpauth://totp/Keyward:ada%40acme.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Keyward";
        let drawn = svg(data, "QR code").expect("a code");
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).expect("a code");
        let dark = code.to_colors().iter().filter(|c| **c == Color::Dark).count();
        let size = code.width() + 2 * QUIET_ZONE;
        assert!(drawn.starts_with("<svg ") && drawn.ends_with("</svg>"), "{drawn}");
        assert!(drawn.contains("role=\"img\" aria-label=\"QR code\""), "{drawn}");
        assert!(drawn.contains(&format!("viewBox=\"0 0 {size} {size}\"")), "{drawn}");
        assert!(!drawn.contains("style"), "the CSP refuses inline styles");
        let d = drawn.split(" d=\"").nth(1).expect("a path");
        let mut covered = 0;
        for segment in d.split('M').skip(1) {
            let (start, rest) = segment.split_once('h').expect("M x y h run");
            let run: usize = rest.split('v').next().and_then(|n| n.parse().ok()).expect("a run");
            let (x, y) = start.split_once(' ').expect("x y");
            let (x, y): (usize, usize) = (x.parse().expect("x"), y.parse().expect("y"));
            assert!(x >= QUIET_ZONE && x + run <= size - QUIET_ZONE, "{segment}");
            assert!((QUIET_ZONE..size - QUIET_ZONE).contains(&y), "{segment}");
            covered += run;
        }
        assert_eq!(covered, dark, "the runs cover the dark modules exactly");
    }
}
