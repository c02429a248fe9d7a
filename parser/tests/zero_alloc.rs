//! Zero-copy, proven with a counting allocator: once the parser's buffers have
//! grown to the stream's shape, parsing allocates nothing, whether events arrive
//! whole inside a chunk (they borrow it) or straddle chunk boundaries (they go
//! through buffers the parser reuses).

use pulsecheck_sse::{Item, Parser};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// A stream of events with multi-line data, ids, types, comments and retry.
fn stream(events: usize) -> Vec<u8> {
    let mut s = Vec::new();
    for i in 0..events {
        s.extend_from_slice(b": keepalive\n");
        s.extend_from_slice(format!("id: {i}\nevent: tick\nretry: 1000\n").as_bytes());
        s.extend_from_slice(b"data: {\"token\":\"h\xC3\xA9llo\"}\ndata: second line\r\n\r\n");
    }
    s
}

/// Feeds `chunks` and returns (events seen, allocations made while feeding).
fn feed_counting(parser: &mut Parser, chunks: &[&[u8]]) -> (usize, u64) {
    let mut events = 0;
    let before = dhat::HeapStats::get().total_blocks;
    for chunk in chunks {
        parser
            .feed(chunk, |item| {
                if let Item::Event(e) = item {
                    // What a consumer reads: text views of every field, borrowed.
                    std::hint::black_box((
                        e.event_type.to_str(),
                        e.last_event_id.to_str(),
                        e.data.lines().count(),
                    ));
                    events += 1;
                }
            })
            .unwrap();
    }
    (events, dhat::HeapStats::get().total_blocks - before)
}

/// dhat's profiler is global: the tests take turns.
static PROFILER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Parses the stream once to grow the parser's buffers, resets it (which keeps
/// their capacity), then counts the allocations of a second identical pass.
fn steady_state_allocations(bytes: &[u8], chunk_size: usize) -> (usize, u64) {
    let chunks: Vec<&[u8]> = bytes.chunks(chunk_size).collect();
    let mut parser = Parser::new();
    let (warm, _) = feed_counting(&mut parser, &chunks);
    parser.reset();
    let (events, allocations) = feed_counting(&mut parser, &chunks);
    assert_eq!(warm, events);
    (events, allocations)
}

#[test]
fn steady_state_parsing_allocates_nothing() {
    let _turn = PROFILER.lock().unwrap_or_else(|e| e.into_inner());
    let _profiler = dhat::Profiler::builder().testing().build();
    let bytes = stream(2000);
    // Whole stream in one chunk: every event borrows it. Then small chunks, so
    // many events straddle a boundary and go through the reused buffers.
    for chunk_size in [bytes.len(), 4096, 1460, 64, 7, 1] {
        let (events, allocations) = steady_state_allocations(&bytes, chunk_size);
        assert_eq!(events, 2000, "chunk size {chunk_size}");
        assert_eq!(
            allocations, 0,
            "chunk size {chunk_size}: {allocations} allocations for {events} events"
        );
    }
}

#[test]
fn joining_multi_line_data_is_the_only_copy_and_only_on_request() {
    let _turn = PROFILER.lock().unwrap_or_else(|e| e.into_inner());
    let _profiler = dhat::Profiler::builder().testing().build();
    let bytes = stream(10);
    let mut parser = Parser::new();
    feed_counting(&mut parser, &[&bytes]);
    parser.reset();
    let mut joins = 0;
    let before = dhat::HeapStats::get().total_blocks;
    parser
        .feed(&bytes, |item| {
            if let Item::Event(e) = item {
                assert!(e.data.as_contiguous().is_none());
                std::hint::black_box(e.data.to_bytes());
                joins += 1;
            }
        })
        .unwrap();
    let allocations = dhat::HeapStats::get().total_blocks - before;
    assert_eq!(joins, 10);
    assert_eq!(allocations, joins, "one allocation per join, nothing else");
}
