//! The `pulsecheck` command.
#![forbid(unsafe_code)]

mod commands;

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pulsecheck::decode::{sse, ws};
use pulsecheck_sse::Config;
use pulsecheck_ws::{FrameConfig, Role};

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
    /// Probe an SSE server for conformance, check by check (no URL: the built-in
    /// reference server).
    Probe(commands::probe::ProbeArgs),
    /// List the checks: ID, level, title, source and requirement.
    List(commands::probe::ListArgs),
    /// Run a reference server.
    #[command(subcommand)]
    Serve(ServeCommand),
    /// Host a client suite: pulsecheck is the server, the client under test
    /// connects.
    #[command(subcommand)]
    Host(HostCommand),
    /// Decode a captured byte stream into JSON Lines, one object per item.
    #[command(subcommand)]
    Decode(DecodeCommand),
}

#[derive(Debug, Subcommand)]
enum ServeCommand {
    /// A conformant SSE server on loopback, or one with `--fault NAME`.
    Sse(commands::serve::ServeSseArgs),
    /// A conformant WebSocket echo server on loopback, or one with `--fault NAME`.
    Ws(commands::serve::ServeWsArgs),
}

#[derive(Debug, Subcommand)]
enum HostCommand {
    /// The WebSocket client suite, over Autobahn|Testsuite's fuzzingserver
    /// protocol (and a page at / that runs it in a browser); with `-- CMD`, run
    /// CMD as the client under test.
    Ws(commands::host::HostWsArgs),
    /// The SSE client suite: each case runs CMD with PULSECHECK_URL set to
    /// the case's URL and judges its requests (and the events it prints).
    Sse(commands::host_sse::HostSseArgs),
}

#[derive(Debug, Subcommand)]
enum DecodeCommand {
    /// Decode a text/event-stream body (for example `curl -sN URL | pulsecheck decode sse`).
    ///
    /// Prints one JSON object per line: `comment`, `retry`, `event` as they occur, and
    /// `end` last. See the README for every key.
    Sse(SseArgs),
    /// Decode the WebSocket frames one side sent after the handshake.
    ///
    /// Prints one JSON object per line: `frame` for every frame (payload unmasked),
    /// `message` and `close` for what frames complete, `error` at the first violation
    /// of RFC 6455 (then stops, exit code 1), and `end` last. See the README.
    Ws(WsArgs),
}

#[derive(Debug, Args)]
struct InputArgs {
    /// Feed the parser N bytes at a time, N at least 1 (default: each read as it
    /// arrives, up to 64 KiB, from a file or a pipe; the output is the same either
    /// way).
    #[arg(long, value_name = "N", value_parser = commands::args::parse::chunk_size, allow_hyphen_values = true)]
    chunk_size: Option<NonZeroUsize>,
    /// The file to read; stdin when absent or `-`.
    file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct WsArgs {
    /// Which side sent the bytes: frames from a client must be masked, frames from
    /// a server must not be.
    #[arg(long, value_enum, default_value_t = Side::Server)]
    from: Side,
    /// The input is hex text (pairs of hex digits; whitespace ignored).
    #[arg(long)]
    hex: bool,
    /// Largest accepted frame payload, in bytes (at least 1).
    #[arg(long, value_name = "BYTES", default_value_t = FrameConfig::DEFAULT_MAX_FRAME_PAYLOAD, value_parser = commands::args::parse::positive_u64, allow_hyphen_values = true)]
    max_frame_bytes: u64,
    /// Largest accepted message, in bytes, at least 1 (the decoder holds one message).
    #[arg(long, value_name = "BYTES", default_value_t = ws::DEFAULT_MAX_MESSAGE_BYTES, value_parser = commands::args::parse::positive_u64, allow_hyphen_values = true)]
    max_message_bytes: u64,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Side {
    /// The client sent the bytes.
    Client,
    /// The server sent the bytes.
    Server,
}

#[derive(Debug, Args)]
struct SseArgs {
    /// Also print lines the parser ignored, with the reason.
    #[arg(long)]
    ignored: bool,
    /// Longest accepted line, in bytes (at least 1).
    #[arg(long, value_name = "BYTES", default_value_t = Config::DEFAULT.max_line_len, value_parser = commands::args::parse::positive_usize, allow_hyphen_values = true)]
    max_line_bytes: usize,
    /// Largest accepted event data, in bytes (at least 1).
    #[arg(long, value_name = "BYTES", default_value_t = Config::DEFAULT.max_event_len, value_parser = commands::args::parse::positive_usize, allow_hyphen_values = true)]
    max_event_bytes: usize,
    #[command(flatten)]
    input: InputArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Probe(args) => ExitCode::from(commands::probe::run_probe(&args)),
        Command::List(args) => ExitCode::from(commands::probe::run_list(&args)),
        Command::Serve(ServeCommand::Sse(args)) => ExitCode::from(commands::serve::run(&args)),
        Command::Serve(ServeCommand::Ws(args)) => ExitCode::from(commands::serve::run_ws(&args)),
        Command::Host(HostCommand::Ws(args)) => ExitCode::from(commands::host::run_host_ws(&args)),
        Command::Host(HostCommand::Sse(args)) => {
            ExitCode::from(commands::host_sse::run_host_sse(&args))
        }
        Command::Decode(DecodeCommand::Sse(args)) => ExitCode::from(decode_sse(&args)),
        Command::Decode(DecodeCommand::Ws(args)) => ExitCode::from(decode_ws(&args)),
    }
}

/// What the decode loop needs of a decoder.
trait ChunkDecoder {
    /// Feeds a chunk; `Err` ends decoding.
    fn feed(&mut self, chunk: &[u8]) -> Result<(), Stop>;
    /// Flushes the output so far.
    fn flush(&mut self) -> io::Result<()>;
}

/// Why a decode loop stopped before the input ended.
enum Stop {
    /// The input broke a rule or a limit (the decoder wrote its `error` line).
    Rejected(String),
    /// Writing the output failed.
    Output(io::Error),
}

impl<W: Write> ChunkDecoder for sse::JsonLinesDecoder<W> {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), Stop> {
        sse::JsonLinesDecoder::feed(self, chunk).map_err(|e| match e {
            sse::DecodeError::Limit(e) => Stop::Rejected(format!("stream rejected: {e}")),
            sse::DecodeError::Io(e) => Stop::Output(e),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        sse::JsonLinesDecoder::flush(self)
    }
}

impl<W: Write> ChunkDecoder for ws::JsonLinesDecoder<W> {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), Stop> {
        ws::JsonLinesDecoder::feed(self, chunk).map_err(|e| match e {
            ws::DecodeError::Io(e) => Stop::Output(e),
            violation => Stop::Rejected(violation.to_string()),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        ws::JsonLinesDecoder::flush(self)
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
    let options = sse::DecodeOptions {
        ignored: args.ignored,
        config: Config::default()
            .with_max_line_len(args.max_line_bytes)
            .with_max_event_len(args.max_event_bytes),
    };
    run_decoder(
        &args.input,
        false,
        |out| sse::JsonLinesDecoder::new(out, options),
        |d| d.finish().map(drop),
    )
}

fn decode_ws(args: &WsArgs) -> u8 {
    let mut config = FrameConfig::new(match args.from {
        Side::Client => Role::Client,
        Side::Server => Role::Server,
    });
    config.max_frame_payload = args.max_frame_bytes;
    config.max_message_size = args.max_message_bytes;
    let options = ws::DecodeOptions { config };
    run_decoder(
        &args.input,
        args.hex,
        |out| ws::JsonLinesDecoder::new(out, options),
        |d| d.finish().map(drop),
    )
}

type Stdout = io::BufWriter<io::StdoutLock<'static>>;

/// Reads the input in pieces, feeds it to the decoder `make` builds, and returns the
/// exit code. With `hex`, the input is hex text, decoded as it is read.
fn run_decoder<D: ChunkDecoder>(
    args: &InputArgs,
    hex: bool,
    make: impl FnOnce(Stdout) -> D,
    finish: impl FnOnce(D) -> io::Result<()>,
) -> u8 {
    let input = match open_input(args.file.as_ref()) {
        Ok(input) => input,
        Err(message) => {
            eprintln!("pulsecheck: {message}");
            return EXIT_USAGE;
        }
    };
    let flush_each = io::stdout().is_terminal() || matches!(input, Input::Stream(_));
    let mut decoder = make(io::BufWriter::with_capacity(64 * 1024, io::stdout().lock()));
    let chunk_size = args.chunk_size.map(NonZeroUsize::get);

    // A file is read in pieces like a pipe: memory does not grow with it, and an
    // error at its start is reported at once.
    let reader: Box<dyn Read> = match input {
        Input::File(path) => match File::open(&path) {
            Ok(file) => Box::new(file),
            Err(e) => {
                eprintln!("pulsecheck: cannot read {}: {e}", path.display());
                return EXIT_USAGE;
            }
        },
        Input::Stream(reader) => reader,
    };
    let reader: Box<dyn Read> = if hex {
        Box::new(ws::HexReader::new(reader))
    } else {
        reader
    };
    let fed = feed_stream(&mut decoder, reader, chunk_size, flush_each);
    match fed {
        Ok(()) => match finish(decoder) {
            Ok(()) => EXIT_OK,
            Err(e) => output_failed(&e),
        },
        Err(FeedError::Decode(Stop::Rejected(message))) => {
            let _ = decoder.flush();
            eprintln!("pulsecheck: {message}");
            EXIT_REJECTED
        }
        Err(FeedError::Decode(Stop::Output(e))) => output_failed(&e),
        Err(FeedError::Read(e)) => {
            let _ = decoder.flush();
            if e.kind() == io::ErrorKind::InvalidData {
                // Invalid hex text: the message says where.
                eprintln!("pulsecheck: {e}");
            } else {
                eprintln!("pulsecheck: cannot read input: {e}");
            }
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
    Decode(Stop),
    Read(io::Error),
}

fn feed_stream<D: ChunkDecoder>(
    decoder: &mut D,
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
                .map_err(|e| FeedError::Decode(Stop::Output(e)))?;
        }
    }
    if !pending.is_empty() {
        decoder.feed(&pending).map_err(FeedError::Decode)?;
    }
    Ok(())
}
