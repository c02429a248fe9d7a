//! The `pulsecheck` command.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use pulsecheck::decode::sse::{DecodeError, DecodeOptions, JsonLinesDecoder};
use pulsecheck_sse::Config;

/// Exit code: the input was read and decoded.
const EXIT_OK: u8 = 0;
/// Exit code: the input broke a limit or a rule (the reason is printed).
const EXIT_REJECTED: u8 = 1;
/// Exit code: bad usage, or the input could not be read (clap also exits with 2).
const EXIT_USAGE: u8 = 2;

/// Conformance and fuzz test suite for Server-Sent Events and WebSocket.
#[derive(Debug, Parser)]
#[command(name = "pulsecheck", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a captured byte stream into JSON Lines, one object per item.
    #[command(subcommand)]
    Decode(DecodeCommand),
}

#[derive(Debug, Subcommand)]
enum DecodeCommand {
    /// Decode a text/event-stream body (for example `curl -sN URL | pulsecheck decode sse`).
    ///
    /// Prints one JSON object per line: `comment`, `retry`, `event` as they occur, and
    /// `end` last. See the README for every key.
    Sse(SseArgs),
}

#[derive(Debug, Args)]
struct SseArgs {
    /// Feed the parser N bytes at a time (default: the whole input at once for a
    /// file, each read as it arrives for a pipe; the output is the same either way).
    #[arg(long, value_name = "N")]
    chunk_size: Option<NonZeroUsize>,
    /// Also print lines the parser ignored, with the reason.
    #[arg(long)]
    ignored: bool,
    /// Longest accepted line, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Config::DEFAULT.max_line_len)]
    max_line_bytes: usize,
    /// Largest accepted event data, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Config::DEFAULT.max_event_len)]
    max_event_bytes: usize,
    /// The file to read; stdin when absent or `-`.
    file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode(DecodeCommand::Sse(args)) => ExitCode::from(decode_sse(&args)),
    }
}

/// Where the input comes from.
enum Input {
    /// A regular file, read whole.
    File(PathBuf),
    /// A stream (stdin, a pipe, a FIFO), read as it arrives.
    Stream(Box<dyn Read>),
}

fn open_input(file: Option<&PathBuf>) -> Result<Input, String> {
    let path = match file {
        None => return Ok(Input::Stream(Box::new(io::stdin()))),
        Some(p) if p.as_os_str() == "-" => return Ok(Input::Stream(Box::new(io::stdin()))),
        Some(p) => p,
    };
    let f = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let meta = f
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.is_dir() {
        return Err(format!("cannot read {}: it is a directory", path.display()));
    }
    if meta.is_file() {
        Ok(Input::File(path.clone()))
    } else {
        Ok(Input::Stream(Box::new(f)))
    }
}

fn decode_sse(args: &SseArgs) -> u8 {
    if args.max_line_bytes == 0 || args.max_event_bytes == 0 {
        eprintln!("pulsecheck: --max-line-bytes and --max-event-bytes must be at least 1");
        return EXIT_USAGE;
    }
    let input = match open_input(args.file.as_ref()) {
        Ok(input) => input,
        Err(message) => {
            eprintln!("pulsecheck: {message}");
            return EXIT_USAGE;
        }
    };
    let options = DecodeOptions {
        ignored: args.ignored,
        config: Config::default()
            .with_max_line_len(args.max_line_bytes)
            .with_max_event_len(args.max_event_bytes),
    };
    let stdout = io::stdout();
    // A terminal sees every line at once; a pipe gets a flush per chunk fed.
    let out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut decoder = JsonLinesDecoder::new(out, options);
    let chunk_size = args.chunk_size.map(NonZeroUsize::get);
    let flush_each = io::stdout().is_terminal() || matches!(input, Input::Stream(_));

    let fed = match input {
        Input::File(path) => match std::fs::read(&path) {
            Ok(bytes) => feed_all(&mut decoder, &bytes, chunk_size),
            Err(e) => {
                eprintln!("pulsecheck: cannot read {}: {e}", path.display());
                return EXIT_USAGE;
            }
        },
        Input::Stream(reader) => feed_stream(&mut decoder, reader, chunk_size, flush_each),
    };
    match fed {
        Ok(()) => match decoder.finish() {
            Ok(_) => EXIT_OK,
            Err(e) => output_failed(&e),
        },
        Err(FeedError::Decode(DecodeError::Limit(e))) => {
            let _ = decoder.flush();
            eprintln!("pulsecheck: stream rejected: {e}");
            EXIT_REJECTED
        }
        Err(FeedError::Decode(DecodeError::Io(e))) => output_failed(&e),
        Err(FeedError::Read(e)) => {
            let _ = decoder.flush();
            eprintln!("pulsecheck: cannot read input: {e}");
            EXIT_USAGE
        }
    }
}

/// A closed pipe (`| head`) ends output quietly; anything else is reported.
fn output_failed(e: &io::Error) -> u8 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return EXIT_OK;
    }
    eprintln!("pulsecheck: cannot write output: {e}");
    EXIT_USAGE
}

enum FeedError {
    Decode(DecodeError),
    Read(io::Error),
}

fn feed_all<W: Write>(
    decoder: &mut JsonLinesDecoder<W>,
    bytes: &[u8],
    chunk_size: Option<usize>,
) -> Result<(), FeedError> {
    let size = chunk_size.unwrap_or(bytes.len()).max(1);
    for chunk in bytes.chunks(size) {
        decoder.feed(chunk).map_err(FeedError::Decode)?;
    }
    Ok(())
}

fn feed_stream<W: Write>(
    decoder: &mut JsonLinesDecoder<W>,
    mut reader: Box<dyn Read>,
    chunk_size: Option<usize>,
    flush_each: bool,
) -> Result<(), FeedError> {
    let mut buf = vec![0u8; 64 * 1024];
    // With --chunk-size, bytes wait here until N have arrived (or the input ends).
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FeedError::Read(e)),
        };
        let read = &buf[..n];
        match chunk_size {
            None => decoder.feed(read).map_err(FeedError::Decode)?,
            Some(size) => {
                pending.extend_from_slice(read);
                let whole = pending.len() - pending.len() % size;
                for chunk in pending[..whole].chunks(size) {
                    decoder.feed(chunk).map_err(FeedError::Decode)?;
                }
                pending.drain(..whole);
            }
        }
        if flush_each {
            decoder
                .flush()
                .map_err(|e| FeedError::Decode(DecodeError::Io(e)))?;
        }
    }
    if !pending.is_empty() {
        decoder.feed(&pending).map_err(FeedError::Decode)?;
    }
    Ok(())
}
