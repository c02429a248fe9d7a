//! The data the compression cases (Autobahn's groups 12 and 13) send: five
//! corpora of the same kinds and sizes as Autobahn's data files, generated here
//! rather than copied, deterministically (the same bytes on every run and
//! machine), once per process.
//!
//! | corpus | kind | sent as | bytes (as Autobahn's file) |
//! |---|---|---|---|
//! | [`Corpus::Json`] | a JSON event log, ASCII | text | 194 056 |
//! | [`Corpus::Bitmap`] | a 512×512 8-bit grayscale BMP of a smooth, textured picture | binary | 263 222 |
//! | [`Corpus::Prose`] | German verse and prose, UTF-8 with umlauts, CRLF lines | binary | 222 218 |
//! | [`Corpus::Html`] | an HTML report page with a style sheet and tables, a few non-ASCII characters | text | 263 647 |
//! | [`Corpus::Pdf`] | a PDF: page dictionaries, an xref table, and content streams of compressed-looking (random) bytes | binary | 1 042 328 |
//!
//! Each message of a case is the next `len` units of its corpus, wrapping
//! around at the end, as Autobahn's `sendOne` takes them: message `k` starts at
//! unit `k * len mod size`. A unit is a byte for binary corpora and a character
//! for text ones (Autobahn slices the decoded string), so a text message is
//! always whole UTF-8 and may be longer in bytes than `len`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::LazyLock;

/// One of the five corpora.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Corpus {
    /// JSON-like text (Autobahn's `data1.json`).
    Json,
    /// An image-like bitmap, binary (Autobahn's `lena512.bmp`).
    Bitmap,
    /// Natural-language text sent as binary (Autobahn's `pg2229.txt`, Goethe's Faust).
    Prose,
    /// HTML text (Autobahn's `data1.html`).
    Html,
    /// A PDF-like binary (Autobahn's `10.1.1.105.5439.pdf`).
    Pdf,
}

/// A generated corpus: its bytes and, for text with multi-byte characters, where
/// each character starts.
pub struct Generated {
    bytes: Vec<u8>,
    /// Byte offset of each unit, plus the end; `None` when every unit is a byte.
    starts: Option<Vec<u32>>,
}

impl Corpus {
    /// The five, in Autobahn's order of group 12 (12.1 to 12.5).
    pub const ALL: [Corpus; 5] = [
        Corpus::Json,
        Corpus::Bitmap,
        Corpus::Prose,
        Corpus::Html,
        Corpus::Pdf,
    ];

    /// Whether its messages are binary (otherwise text).
    pub const fn binary(self) -> bool {
        !matches!(self, Corpus::Json | Corpus::Html)
    }

    /// Its size in bytes: the size of Autobahn's file of the same kind.
    pub const fn size(self) -> usize {
        match self {
            Corpus::Json => 194_056,
            Corpus::Bitmap => 263_222,
            Corpus::Prose => 222_218,
            Corpus::Html => 263_647,
            Corpus::Pdf => 1_042_328,
        }
    }

    /// A short name, for IDs.
    pub const fn name(self) -> &'static str {
        match self {
            Corpus::Json => "json",
            Corpus::Bitmap => "bitmap",
            Corpus::Prose => "prose",
            Corpus::Html => "html",
            Corpus::Pdf => "pdf",
        }
    }

    /// What it is, for titles.
    pub const fn description(self) -> &'static str {
        match self {
            Corpus::Json => "JSON event log (text)",
            Corpus::Bitmap => "512x512 grayscale bitmap (binary)",
            Corpus::Prose => "German verse and prose (binary)",
            Corpus::Html => "HTML report page (text)",
            Corpus::Pdf => "PDF with compressed streams (binary)",
        }
    }

    /// The generated corpus (built on first use).
    pub fn data(self) -> &'static Generated {
        static JSON: LazyLock<Generated> = LazyLock::new(|| Generated::text(json()));
        static BITMAP: LazyLock<Generated> = LazyLock::new(|| Generated::binary(bitmap()));
        static PROSE: LazyLock<Generated> = LazyLock::new(|| Generated::binary(prose()));
        static HTML: LazyLock<Generated> = LazyLock::new(|| Generated::text(html()));
        static PDF: LazyLock<Generated> = LazyLock::new(|| Generated::binary(pdf()));
        match self {
            Corpus::Json => &JSON,
            Corpus::Bitmap => &BITMAP,
            Corpus::Prose => &PROSE,
            Corpus::Html => &HTML,
            Corpus::Pdf => &PDF,
        }
    }

    /// Message `k` of a case sending `len` units at a time (see the module docs).
    pub fn message(self, k: usize, len: usize) -> Cow<'static, [u8]> {
        self.data().slice(k.wrapping_mul(len), len)
    }

    /// Message `k` of a case sending `len` units at a time, as
    /// [`Corpus::message`] gives it, borrowed from the corpus or put together
    /// in `spare` when it wraps around ([`Generated::slice_in`]).
    pub fn message_in(self, k: usize, len: usize, spare: &mut Vec<u8>) -> &[u8] {
        self.data().slice_in(k.wrapping_mul(len), len, spare)
    }
}

impl Generated {
    fn binary(bytes: Vec<u8>) -> Self {
        Generated {
            bytes,
            starts: None,
        }
    }

    fn text(text: String) -> Self {
        let bytes = text.into_bytes();
        let starts = (!bytes.is_ascii()).then(|| {
            let text = std::str::from_utf8(&bytes).unwrap_or_default();
            let mut starts: Vec<u32> = text
                .char_indices()
                .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
                .collect();
            starts.push(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
            starts
        });
        Generated { bytes, starts }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many units (bytes, or characters of a text) it has.
    pub fn units(&self) -> usize {
        self.starts
            .as_ref()
            .map_or(self.bytes.len(), |s| s.len().saturating_sub(1))
    }

    /// Byte offset of unit `u` (`u <= units`).
    fn offset(&self, u: usize) -> usize {
        match &self.starts {
            None => u,
            Some(starts) => starts.get(u).map_or(self.bytes.len(), |&o| o as usize),
        }
    }

    /// `len` units from unit `from` (modulo the size), wrapping around.
    pub fn slice(&self, from: usize, len: usize) -> Cow<'_, [u8]> {
        let mut pieces = self.pieces(from, len);
        match (pieces.next(), pieces.next()) {
            (None, _) => Cow::Borrowed(&[]),
            (Some(whole), None) => Cow::Borrowed(whole),
            (Some(first), Some(second)) => {
                let mut out = Vec::with_capacity(self.bytes_in(from, len));
                for piece in [first, second].into_iter().chain(pieces) {
                    out.extend_from_slice(piece);
                }
                Cow::Owned(out)
            }
        }
    }

    /// The same bytes as [`Generated::slice`], borrowed from the corpus when
    /// they lie in one piece, otherwise put together in `spare` (cleared first;
    /// its capacity is reused from one message to the next, so that a case
    /// sending a thousand messages does not allocate a thousand buffers).
    pub fn slice_in<'a>(&'a self, from: usize, len: usize, spare: &'a mut Vec<u8>) -> &'a [u8] {
        let mut pieces = self.pieces(from, len);
        match (pieces.next(), pieces.next()) {
            (None, _) => &[],
            (Some(whole), None) => whole,
            (Some(first), Some(second)) => {
                spare.clear();
                for piece in [first, second].into_iter().chain(pieces) {
                    spare.extend_from_slice(piece);
                }
                spare
            }
        }
    }

    /// The byte length of `len` units from unit `from`.
    fn bytes_in(&self, from: usize, len: usize) -> usize {
        self.pieces(from, len).map(<[u8]>::len).sum()
    }

    /// The contiguous pieces of the corpus that make `len` units from unit
    /// `from`, wrapping around: one piece unless the message wraps.
    fn pieces(&self, from: usize, len: usize) -> impl Iterator<Item = &[u8]> {
        let units = self.units();
        let mut at = if units == 0 { 0 } else { from % units };
        let mut left = if units == 0 { 0 } else { len };
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            let take = left.min(units - at);
            let piece = self
                .bytes
                .get(self.offset(at)..self.offset(at + take))
                .unwrap_or_default();
            left -= take;
            at = 0;
            Some(piece)
        })
    }
}

/// SplitMix64: a small, fast, deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// `text` padded with spaces (before `tail`) to exactly `size` bytes; entries
/// were added while they fit.
fn fill(mut body: String, tail: &str, size: usize) -> String {
    let pad = size.saturating_sub(body.len() + tail.len());
    body.extend(std::iter::repeat_n(' ', pad));
    body.push_str(tail);
    body.truncate(size);
    body
}

/// Appends entries made by `entry` while they fit in `size` bytes with `tail`.
fn grow(mut body: String, tail: &str, size: usize, mut entry: impl FnMut(&mut String)) -> String {
    let mut next = String::new();
    loop {
        next.clear();
        entry(&mut next);
        if body.len() + next.len() + tail.len() > size {
            return fill(body, tail, size);
        }
        body.push_str(&next);
    }
}

fn json() -> String {
    const SOURCES: [&str; 6] = [
        "sensor-north",
        "sensor-south",
        "gateway-1",
        "gateway-2",
        "meter-07",
        "meter-11",
    ];
    const KINDS: [&str; 4] = ["reading", "heartbeat", "alarm", "config"];
    const ROOMS: [&str; 5] = ["lab", "office", "hall", "roof", "cellar"];
    let mut rng = Rng(0x1205_0001);
    let mut seq = 0u32;
    let mut millis = 1_714_564_800_000u64;
    let head =
        "{\n   \"feed\": \"pulsecheck-corpus\",\n   \"version\": 3,\n   \"events\": [\n".to_owned();
    let tail = "\n   ]\n}\n";
    grow(head, tail, Corpus::Json.size(), |e| {
        seq += 1;
        millis += 250 + rng.below(1750) as u64;
        if seq > 1 {
            e.push_str(",\n");
        }
        let kind = *rng.pick(&KINDS);
        let _ = write!(
            e,
            "      {{\n         \"seq\": {seq},\n         \"time\": \"{}.{:03}Z\",\n         \
             \"source\": \"{}\",\n         \"kind\": \"{kind}\",\n         \"ok\": {},\n",
            time_of(millis / 1000),
            millis % 1000,
            rng.pick(&SOURCES),
            rng.below(20) != 0,
        );
        if kind == "reading" {
            let _ = write!(
                e,
                "         \"value\": {}.{:03},\n         \"unit\": \"{}\",\n",
                15 + rng.below(15),
                rng.below(1000),
                if rng.below(2) == 0 { "C" } else { "%" }
            );
        }
        let _ = write!(
            e,
            "         \"labels\": {{\"room\": \"{}\", \"floor\": {}}}\n      }}",
            rng.pick(&ROOMS),
            rng.below(6)
        );
    })
}

/// `2024-05-01T12:00:00`-style UTC time of a Unix second count (days counted
/// from the first of May 2024, the corpus's epoch; months of 31 days suffice).
fn time_of(secs: u64) -> String {
    let base = 1_714_521_600u64; // 2024-05-01T00:00:00Z
    let s = secs.saturating_sub(base);
    let (day, rest) = (s / 86_400, s % 86_400);
    format!(
        "2024-{:02}-{:02}T{:02}:{:02}:{:02}",
        5 + day / 31,
        1 + day % 31,
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

fn bitmap() -> Vec<u8> {
    const SIDE: usize = 512;
    let pixels = SIDE * SIDE;
    let offset = 14 + 40 + 256 * 4;
    let size = offset + pixels;
    let mut out = Vec::with_capacity(size);
    // BITMAPFILEHEADER.
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(offset as u32).to_le_bytes());
    // BITMAPINFOHEADER: 512x512, 1 plane, 8 bits, uncompressed, 256 colours.
    for field in [40u32, SIDE as u32, SIDE as u32] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    for field in [0u32, pixels as u32, 2835, 2835, 256, 256] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    // A gray palette.
    for level in 0..=255u8 {
        out.extend_from_slice(&[level, level, level, 0]);
    }
    // A photo-like picture: shading, a bright blob, ripples, and sensor noise,
    // so that DEFLATE gains little, as on a photograph. Integer arithmetic only:
    // the same bytes on every machine.
    let mut rng = Rng(0x1205_0002);
    let triangle = |t: i64, period: i64| {
        let t = t.rem_euclid(period);
        (if t < period / 2 { t } else { period - t }) * 2 * 64 / period - 64
    };
    for y in 0..SIDE as i64 {
        for x in 0..SIDE as i64 {
            let shade = 90 + y * 80 / SIDE as i64;
            let (dx, dy) = (x - 280, y - 230);
            let blob = (110 - (dx * dx + dy * dy) / 600).max(0);
            let ripples = triangle(x * 3 + triangle(y, 97), 71) / 3 + triangle(y * 5 + x, 173) / 4;
            let noise = rng.below(17) as i64 - 8;
            out.push((shade + blob + ripples + noise).clamp(0, 255) as u8);
        }
    }
    out
}

fn prose() -> Vec<u8> {
    const ENDINGS: [&str; 6] = [",", ";", ".", "!", "?", ""];
    const SPEAKERS: [&str; 6] = [
        "FAUST.",
        "MEPHISTOPHELES.",
        "WAGNER.",
        "MARGARETE.",
        "CHOR DER ENGEL.",
        "DER HERR.",
    ];
    const WORDS: [&str; 64] = [
        "und",
        "die",
        "der",
        "ich",
        "nicht",
        "das",
        "zu",
        "mir",
        "mit",
        "sich",
        "ein",
        "wie",
        "auf",
        "was",
        "so",
        "dem",
        "ist",
        "mich",
        "den",
        "es",
        "du",
        "Herz",
        "Welt",
        "Geist",
        "Nacht",
        "Tag",
        "Himmel",
        "Erde",
        "Blick",
        "Brust",
        "Seele",
        "Liebe",
        "Glück",
        "Trüb",
        "schön",
        "für",
        "über",
        "hören",
        "müssen",
        "Mädchen",
        "Gefühl",
        "süß",
        "Blüte",
        "weiß",
        "groß",
        "Fuß",
        "Straße",
        "Schöpfung",
        "träumen",
        "König",
        "Öde",
        "Ärger",
        "führen",
        "Wissenschaft",
        "Geheimnis",
        "Natur",
        "ewig",
        "Flamme",
        "Schatten",
        "Lied",
        "Stunde",
        "Augenblick",
        "verweile",
        "wandeln",
    ];
    let mut rng = Rng(0x1205_0003);
    let head =
        "Faust: Eine Tragödie (generiert für pulsecheck)\r\n\r\n\r\nZueignung.\r\n\r\n".to_owned();
    let mut scene = 0;
    let text = grow(head, "\r\n", Corpus::Prose.size(), |e| {
        if rng.below(12) == 0 {
            scene += 1;
            let _ = write!(e, "\r\n\r\n{}. Szene. Nacht.\r\n\r\n", scene);
        }
        let _ = write!(e, "\r\n{}\r\n", rng.pick(&SPEAKERS));
        for _ in 0..2 + rng.below(6) {
            e.push_str("    ");
            let words = 4 + rng.below(5);
            for w in 0..words {
                let word = *rng.pick(&WORDS);
                if w == 0 {
                    let mut chars = word.chars();
                    if let Some(first) = chars.next() {
                        e.extend(first.to_uppercase());
                        e.push_str(chars.as_str());
                    }
                } else {
                    e.push(' ');
                    e.push_str(word);
                }
            }
            let ending: &&str = rng.pick(&ENDINGS);
            e.push_str(ending);
            e.push_str("\r\n");
        }
    });
    text.into_bytes()
}

fn html() -> String {
    const VERDICTS: [&str; 5] = ["Pass", "Pass", "Pass", "Warn", "Fail"];
    const AREAS: [&str; 7] = [
        "framing",
        "ping",
        "utf8",
        "close",
        "limits",
        "deflate",
        "handshake",
    ];
    let mut rng = Rng(0x1205_0004);
    let mut head = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n   <head>\n      <meta charset=\"utf-8\" />\n      \
         <title>pulsecheck \u{2013} a generated report</title>\n      <style>\n",
    );
    for (selector, color) in [
        ("body", "#f4f4f4"),
        ("p.intro", "#444"),
        (".block", "#e0e0e0"),
        ("td.pass", "#0a0"),
        ("td.warn", "#c80"),
        ("td.fail", "#c00"),
        ("table.cases", "#fff"),
    ] {
        let _ = write!(
            head,
            "{selector} {{\n   color: {color};\n   font-family: Segoe UI, Tahoma, Arial, sans-serif;\n   \
             padding: 2px 4px;\n}}\n\n"
        );
    }
    head.push_str(
        "      </style>\n   </head>\n   <body>\n      <p class=\"intro\">Results of the \
         generated run \u{2014} caf\u{e9}, na\u{ef}ve, \u{201c}quoted\u{201d}\u{2026}</p>\n",
    );
    let tail = "      </table>\n   </body>\n</html>\n";
    let mut row = 0u32;
    grow(head, tail, Corpus::Html.size(), |e| {
        if row.is_multiple_of(40) {
            if row > 0 {
                e.push_str("      </table>\n");
            }
            let _ = write!(
                e,
                "      <h2 id=\"group-{0}\">Group {0}</h2>\n      <table class=\"cases\">\n         \
                 <tr><th>Case</th><th>Area</th><th>Verdict</th><th>Duration</th></tr>\n",
                row / 40 + 1
            );
        }
        row += 1;
        let verdict = *rng.pick(&VERDICTS);
        let _ = writeln!(
            e,
            "         <tr><td><a href=\"#case-{row}\">{}.{}.{}</a></td><td>{}</td>\
             <td class=\"{}\">{verdict}</td><td>{} ms</td></tr>",
            row / 40 + 1,
            row % 40 / 8 + 1,
            row % 8 + 1,
            rng.pick(&AREAS),
            verdict.to_ascii_lowercase(),
            rng.below(900)
        );
        if rng.below(25) == 0 {
            e.push_str("         <!-- r\u{e9}sum\u{e9}: \u{2713} -->\n");
        }
    })
}

fn pdf() -> Vec<u8> {
    const FONTS: [&str; 3] = ["Helvetica", "Times-Roman", "Courier"];
    let size = Corpus::Pdf.size();
    let mut rng = Rng(0x1205_0005);
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n".to_vec();
    let mut offsets: Vec<usize> = Vec::new();
    let mut page = 0u32;
    // Room for the next page (a few KiB), the xref (20 bytes an object) and
    // the trailer.
    while out.len() + 8192 + 20 * (offsets.len() + 3) < size {
        page += 1;
        // A page's content stream, FlateDecode: compressed data is as good as
        // random to a second compressor, so random bytes stand for it (and
        // keep the corpus independent of any zlib's output).
        let stream: Vec<u8> = (0..1200 + rng.below(2400))
            .map(|_| rng.next().to_le_bytes()[3])
            .collect();
        let id = offsets.len() + 1;
        offsets.push(out.len());
        let _ = write!(
            out,
            "{id} 0 obj\n<</Length {}/Filter /FlateDecode>>\nstream\n",
            stream.len()
        );
        out.extend_from_slice(&stream);
        out.extend_from_slice(b"\nendstream\nendobj\n");
        offsets.push(out.len());
        let _ = write!(
            out,
            "{} 0 obj\n<</Type /Page /Parent 1 0 R /MediaBox [0 0 612 792] /Contents {id} 0 R \
             /Resources <</Font <</F{} <</Type /Font /Subtype /Type1 /BaseFont /{}>>>>>>>>\nendobj\n",
            id + 1,
            page % 3 + 1,
            FONTS[(page % 3) as usize]
        );
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for o in &offsets {
        let _ = writeln!(out, "{o:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<</Size {} /Root 1 0 R>>\nstartxref\n{xref}\n",
        offsets.len() + 1
    );
    // Pad with a comment line to the exact size, then end the file.
    let end = b"%%EOF\n";
    if out.len() + end.len() + 2 <= size {
        out.push(b'%');
        while out.len() + end.len() + 1 < size {
            out.push(b'-');
        }
        out.push(b'\n');
    }
    out.extend_from_slice(end);
    out.truncate(size);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_corpus_has_the_size_and_kind_of_autobahns_file() {
        for corpus in Corpus::ALL {
            let data = corpus.data();
            assert_eq!(data.bytes().len(), corpus.size(), "{corpus:?}");
            if !corpus.binary() {
                assert!(
                    std::str::from_utf8(data.bytes()).is_ok(),
                    "{corpus:?} is text"
                );
            }
        }
        assert!(Corpus::Json.data().bytes().is_ascii());
        let html = std::str::from_utf8(Corpus::Html.data().bytes()).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert!(
            Corpus::Html.data().units() < Corpus::Html.size(),
            "multi-byte characters"
        );
        let prose = std::str::from_utf8(Corpus::Prose.data().bytes()).unwrap();
        assert!(prose.contains("ü") && prose.contains("\r\n"));
        let bmp = Corpus::Bitmap.data().bytes();
        assert_eq!(&bmp[..2], b"BM");
        assert_eq!(u32::from_le_bytes(bmp[2..6].try_into().unwrap()), 263_222);
        let pdf = Corpus::Pdf.data().bytes();
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    }

    #[test]
    fn corpora_are_the_same_on_every_run() {
        // A digest of each, pinned: a change to a generator changes what the
        // cases send, which must be deliberate.
        let digests = Corpus::ALL.map(|c| crate::ws::connection::Digest::of(c.data().bytes()));
        assert_eq!(digests, PINNED);
    }

    const PINNED: [u64; 5] = [
        0x02a5_d975_daaf_9eab,
        0x4f47_a572_296d_c9b3,
        0x4359_d686_a562_7b86,
        0x48f1_a05e_91ed_80e6,
        0x039d_8401_9917_b93d,
    ];

    #[test]
    fn compressibility_is_of_the_kind_expected() {
        // Ratios of DEFLATE level 6, bracketing those of Autobahn's files (JSON
        // 0.04, HTML 0.06, Faust 0.39, Lena 0.85, the PDF 0.76): text compresses
        // well, the photo-like bitmap and the PDF's compressed streams hardly.
        let ratio = |c: Corpus| {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
            e.write_all(c.data().bytes()).unwrap();
            e.finish().unwrap().len() as f64 / c.size() as f64
        };
        let ratios = Corpus::ALL.map(ratio);
        let bounds = [
            (0.0, 0.15),
            (0.7, 1.0),
            (0.15, 0.5),
            (0.0, 0.15),
            (0.7, 1.0),
        ];
        for ((corpus, r), (low, high)) in Corpus::ALL.iter().zip(ratios).zip(bounds) {
            assert!((low..high).contains(&r), "{corpus:?}: {r}");
        }
    }

    #[test]
    fn messages_roll_through_the_corpus_and_wrap() {
        let data = Corpus::Bitmap.data().bytes();
        let n = data.len();
        assert_eq!(&*Corpus::Bitmap.message(0, 16), &data[..16]);
        assert_eq!(&*Corpus::Bitmap.message(3, 16), &data[48..64]);
        // 131072-byte messages: the third starts at 262144 and wraps.
        let third = Corpus::Bitmap.message(2, 131_072);
        assert_eq!(third.len(), 131_072);
        assert_eq!(&third[..n - 262_144], &data[262_144..]);
        assert_eq!(&third[n - 262_144..], &data[..131_072 - (n - 262_144)]);
        assert!(matches!(Corpus::Bitmap.message(1, 1024), Cow::Borrowed(_)));
    }

    #[test]
    fn a_message_put_together_in_a_spare_buffer_is_the_message() {
        let mut spare = Vec::new();
        for corpus in Corpus::ALL {
            let units = corpus.data().units();
            // Within the corpus, wrapping once, and longer than the corpus.
            for len in [0, 1, 1000, 131_072, units + 7] {
                for k in 0..5 {
                    let whole = corpus.message(k, len);
                    let built = corpus.message_in(k, len, &mut spare);
                    assert_eq!(built, &*whole, "{corpus:?} message {k} of {len}");
                }
            }
        }
        // The spare buffer is reused: a thousand wrapping messages of 128 KiB
        // never need more room than the longest of them.
        let mut spare = Vec::new();
        let mut longest = 0;
        for k in 0..1000 {
            longest = longest.max(Corpus::Json.message_in(k, 131_072, &mut spare).len());
        }
        assert!(spare.capacity() <= 2 * longest, "{}", spare.capacity());
        // A message that does not wrap is borrowed from the corpus, spare untouched.
        let mut spare = vec![7];
        let data = Corpus::Bitmap.data().bytes();
        let first = Corpus::Bitmap.message_in(0, 1024, &mut spare);
        assert_eq!(first.as_ptr(), data.as_ptr());
        assert_eq!(spare, [7]);
    }

    #[test]
    fn text_messages_are_cut_at_characters_never_inside_one() {
        let html = Corpus::Html;
        let units = html.data().units();
        let mut bytes = 0;
        for k in 0..units / 4096 + 2 {
            let m = html.message(k, 4096);
            let text = std::str::from_utf8(&m).expect("whole characters");
            assert_eq!(text.chars().count(), 4096);
            bytes += m.len();
        }
        assert!(
            bytes > 4096 * (units / 4096 + 2),
            "some characters take several bytes"
        );
    }
}
