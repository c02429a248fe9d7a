//! The judgement of Last-Event-ID replay, apart from the connections: where to
//! resume from, what a resumed stream should deliver, what it did deliver, and
//! how to say the difference in a few words. Pure functions of the events, so
//! they are tested on made-up streams.
//!
//! A client that resumes after id X must get exactly the events that followed X,
//! in order: none it already had, none missing. Resuming from a single point hides
//! bugs that depend on the id: a server that compares ids as strings (a Node
//! library did) resumes correctly from an id as long as the newest one and loses
//! everything from a shorter one (`"1000" < "995"`). So the check resumes from
//! the earliest id seen, one in the middle, the last one, and, where numeric ids
//! of different lengths were seen, the last of the shortest ones.

use std::collections::HashMap;

/// One event as a client saw it: the id it leaves as the last event ID, whether
/// its own block set that id, and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SeenEvent {
    /// The last event ID at dispatch.
    pub(super) id: String,
    /// Whether the event's own block had the id (rather than inheriting it).
    pub(super) sets_id: bool,
    /// The event's data.
    pub(super) data: String,
}

/// What names an event across connections: its id when its block set one,
/// otherwise the inherited id and its data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key<'a> {
    Id(&'a str),
    Inherited(&'a str, &'a str),
}

impl SeenEvent {
    fn key(&self) -> Key<'_> {
        if self.sets_id {
            Key::Id(&self.id)
        } else {
            Key::Inherited(&self.id, &self.data)
        }
    }

    /// How the event is named in a message: its id, or its data when it has none
    /// of its own.
    fn label(&self) -> String {
        if self.sets_id {
            if is_decimal(&self.id) {
                self.id.clone()
            } else {
                format!("{:?}", self.id)
            }
        } else {
            let data: String = self.data.chars().take(24).collect();
            format!("(no id, data {data:?})")
        }
    }
}

fn is_decimal(id: &str) -> bool {
    !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit())
}

/// A point to resume from: the index of an event that set its id, and why it
/// was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ResumePoint {
    /// Index into the events seen.
    pub(super) at: usize,
    /// "the earliest id seen", "the last 3-digit id", …
    pub(super) why: String,
}

/// The points to resume from, in order of the stream, without repeats: the
/// earliest id seen, one in the middle, the last of the shortest numeric ids
/// when numeric ids of different lengths were seen, and the last id. Empty when
/// fewer than two events set an id.
pub(super) fn resume_points(events: &[SeenEvent]) -> Vec<ResumePoint> {
    let with_ids: Vec<usize> = (0..events.len()).filter(|&i| events[i].sets_id).collect();
    let (Some(&first), Some(&last)) = (with_ids.first(), with_ids.last()) else {
        return Vec::new();
    };
    if with_ids.len() < 2 {
        return Vec::new();
    }
    let mut points = vec![
        (first, "the earliest id seen".to_owned()),
        (
            with_ids[with_ids.len() / 2],
            "an id in the middle".to_owned(),
        ),
    ];
    if with_ids.iter().all(|&i| is_decimal(&events[i].id)) {
        let lengths = with_ids.iter().map(|&i| events[i].id.len());
        let (shortest, longest) = (lengths.clone().min(), lengths.max());
        if let (Some(short), Some(long)) = (shortest, longest)
            && short < long
            && let Some(&at) = with_ids
                .iter()
                .rev()
                .find(|&&i| events[i].id.len() == short)
        {
            points.push((at, format!("the last {short}-digit id")));
        }
    }
    points.push((last, "the last id seen".to_owned()));
    points.sort_by_key(|(at, _)| *at);
    let mut merged: Vec<ResumePoint> = Vec::with_capacity(points.len());
    for (at, why) in points {
        match merged.last_mut() {
            Some(previous) if previous.at == at => {
                previous.why = format!("{} and {why}", previous.why);
            }
            _ => merged.push(ResumePoint { at, why }),
        }
    }
    merged
}

/// What a resumed stream delivered, measured against what followed the point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Replay {
    /// The events that followed the point on the first connection.
    pub(super) expected: Vec<String>,
    /// Labels of the events of the resumed stream, in order, up to where the
    /// judgement stopped.
    pub(super) received: Vec<String>,
    /// Events the client already had (at or before the point) sent again, or
    /// expected ones sent twice.
    pub(super) repeated: Vec<String>,
    /// Expected events that never came before the replay was over.
    pub(super) missing: Vec<String>,
    /// Whether the expected events that came, came in another order.
    pub(super) reordered: bool,
}

impl Replay {
    /// Whether the resumed stream delivered exactly what followed the point.
    pub(super) fn exact(&self) -> bool {
        self.repeated.is_empty() && self.missing.is_empty() && !self.reordered
    }

    /// The difference in a few words, with the ids (bounded).
    pub(super) fn problem(&self) -> String {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "{} of the {} missed event(s) never came ({})",
                self.missing.len(),
                self.expected.len(),
                id_list(&self.missing)
            ));
        }
        if !self.repeated.is_empty() {
            parts.push(format!(
                "{} event(s) the client already had came again ({})",
                self.repeated.len(),
                id_list(&self.repeated)
            ));
        }
        if self.reordered {
            parts.push("the missed events came in another order".to_owned());
        }
        parts.join(", and ")
    }
}

/// Follows a resumed stream event by event and says when the replay is over.
#[derive(Debug)]
pub(super) struct ReplayJudge<'a> {
    events: &'a [SeenEvent],
    point: usize,
    /// Position among the events seen of every key, for the events after the point.
    expected_at: HashMap<Key<'a>, usize>,
    /// Keys of the events at or before the point.
    already: HashMap<Key<'a>, usize>,
    delivered: Vec<bool>,
    last_delivered: Option<usize>,
    received: Vec<String>,
    repeated: Vec<String>,
    reordered: bool,
    over: bool,
}

impl<'a> ReplayJudge<'a> {
    /// A judge of a resumption after `events[point]`.
    pub(super) fn new(events: &'a [SeenEvent], point: usize) -> Self {
        let expected_at = events
            .iter()
            .enumerate()
            .skip(point + 1)
            .map(|(i, e)| (e.key(), i))
            .collect();
        let already = events
            .iter()
            .enumerate()
            .take(point + 1)
            .map(|(i, e)| (e.key(), i))
            .collect();
        ReplayJudge {
            events,
            point,
            expected_at,
            already,
            delivered: vec![false; events.len().saturating_sub(point + 1)],
            last_delivered: None,
            received: Vec::new(),
            repeated: Vec::new(),
            reordered: false,
            over: false,
        }
    }

    /// Takes the next event of the resumed stream. The replay is over once every
    /// expected event has come, or an event the first connection never saw (a
    /// live one) has: nothing replayed may follow a live event.
    pub(super) fn push(&mut self, event: &SeenEvent) {
        if self.over {
            return;
        }
        let label = event.label();
        self.received.push(label.clone());
        let key = event.key();
        if let Some(&i) = self.expected_at.get(&key) {
            let slot = i - self.point - 1;
            if self.delivered[slot] {
                self.repeated.push(label);
            } else {
                self.delivered[slot] = true;
                if self.last_delivered.is_some_and(|last| last > i) {
                    self.reordered = true;
                }
                self.last_delivered = Some(i);
            }
        } else if self.already.contains_key(&key) {
            self.repeated.push(label);
        } else {
            self.over = true; // a live event: the replay has ended
        }
        if !self.delivered.is_empty() && self.delivered.iter().all(|d| *d) {
            self.over = true;
        }
    }

    /// Whether the replay is over (see [`ReplayJudge::push`]).
    pub(super) fn is_over(&self) -> bool {
        self.over
    }

    /// How many events the judge takes at most: every event seen once, a few more.
    pub(super) fn most_events(&self) -> usize {
        self.events.len() + 4
    }

    /// The judgement, once the replay is over or the stream stopped.
    pub(super) fn finish(self) -> Replay {
        let after = &self.events[self.point + 1..];
        Replay {
            expected: after.iter().map(SeenEvent::label).collect(),
            missing: after
                .iter()
                .zip(&self.delivered)
                .filter(|(_, delivered)| !**delivered)
                .map(|(e, _)| e.label())
                .collect(),
            received: self.received,
            repeated: self.repeated,
            reordered: self.reordered,
        }
    }
}

/// How many items a list of ids names before it says how many more there are.
const LISTED: usize = 6;

/// A bounded list of event labels: runs of consecutive decimal ids as
/// `996..1005`, at most [`LISTED`] items, then how many more events.
pub(super) fn id_list(labels: &[String]) -> String {
    let mut items: Vec<(String, usize)> = Vec::new(); // (text, events in it)
    let mut i = 0;
    while i < labels.len() {
        let start: Option<u64> = labels[i].parse().ok();
        let mut end = i;
        if let Some(first) = start {
            while end + 1 < labels.len()
                && labels[end + 1].parse::<u64>().ok() == first.checked_add((end + 1 - i) as u64)
            {
                end += 1;
            }
        }
        let text = if end > i {
            format!("{}..{}", labels[i], labels[end])
        } else {
            labels[i].clone()
        };
        items.push((text, end + 1 - i));
        i = end + 1;
    }
    let shown: Vec<&str> = items.iter().take(LISTED).map(|(t, _)| t.as_str()).collect();
    let more: usize = items.iter().skip(LISTED).map(|(_, n)| n).sum();
    let ids = if items.len() == 1 && items[0].1 == 1 {
        "id"
    } else {
        "ids"
    };
    if more == 0 {
        format!("{ids} {}", shown.join(", "))
    } else {
        format!("{ids} {} and {more} more", shown.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(ids: impl IntoIterator<Item = u64>) -> Vec<SeenEvent> {
        ids.into_iter()
            .map(|id| SeenEvent {
                id: id.to_string(),
                sets_id: true,
                data: format!("event {id}"),
            })
            .collect()
    }

    fn judged(seen: &[SeenEvent], point: usize, resumed: &[SeenEvent]) -> Replay {
        let mut judge = ReplayJudge::new(seen, point);
        for event in resumed {
            if judge.is_over() {
                break;
            }
            judge.push(event);
        }
        judge.finish()
    }

    #[test]
    fn points_are_the_earliest_the_middle_the_last_and_the_last_shorter_id() {
        let seen = numbered(995..=1005);
        let points = resume_points(&seen);
        let at: Vec<(&str, &str)> = points
            .iter()
            .map(|p| (seen[p.at].id.as_str(), p.why.as_str()))
            .collect();
        assert_eq!(
            at,
            [
                ("995", "the earliest id seen"),
                ("999", "the last 3-digit id"),
                ("1000", "an id in the middle"),
                ("1005", "the last id seen"),
            ]
        );
        // One id can be chosen twice: it is tried once, for both reasons.
        let points = resume_points(&numbered(3..=14));
        assert_eq!(points[1].why, "an id in the middle and the last 1-digit id");
        assert_eq!(points.len(), 3);
        // Ids of one length: no shorter point; two ids: no separate middle.
        assert_eq!(resume_points(&numbered(10..=20)).len(), 3);
        assert_eq!(resume_points(&numbered([7, 8])).len(), 2);
        assert!(resume_points(&numbered([7])).is_empty());
        // Ids that are not numbers get no shorter point.
        let mut uuids = numbered(1..=5);
        uuids[4].id = "a3f".into();
        assert_eq!(resume_points(&uuids).len(), 3);
    }

    #[test]
    fn an_exact_replay_ends_once_every_missed_event_came() {
        let seen = numbered(1..=6);
        let mut judge = ReplayJudge::new(&seen, 2);
        for event in &numbered(4..=6) {
            assert!(!judge.is_over());
            judge.push(event);
        }
        assert!(judge.is_over());
        let replay = judge.finish();
        assert!(replay.exact(), "{replay:?}");
        assert_eq!(replay.expected, ["4", "5", "6"]);
    }

    #[test]
    fn ids_compared_as_strings_lose_the_events_after_a_shorter_id() {
        // Resumed from 995, the server replays nothing and goes on live at 1006.
        let seen = numbered(995..=1005);
        let replay = judged(&seen, 0, &numbered(1006..=1010));
        assert_eq!(replay.received, ["1006"]);
        assert_eq!(
            replay.problem(),
            "10 of the 10 missed event(s) never came (ids 996..1005)"
        );
    }

    #[test]
    fn repeats_gaps_and_reordering_are_named() {
        let seen = numbered(1..=6);
        let duplicate = judged(&seen, 2, &numbered(3..=6));
        assert_eq!(
            duplicate.problem(),
            "1 event(s) the client already had came again (id 3)"
        );
        let gap = judged(&seen, 2, &numbered([5, 6, 7]));
        assert_eq!(
            gap.problem(),
            "1 of the 3 missed event(s) never came (id 4)"
        );
        let reordered = judged(&seen, 2, &numbered([5, 4, 6]));
        assert_eq!(
            reordered.problem(),
            "the missed events came in another order"
        );
        // From the last id, only new events may come.
        let restarted = judged(&seen, 5, &numbered([1, 2, 7]));
        assert_eq!(
            restarted.problem(),
            "2 event(s) the client already had came again (ids 1..2)"
        );
        assert!(judged(&seen, 5, &numbered([7])).exact());
    }

    #[test]
    fn events_without_ids_of_their_own_are_named_by_their_data() {
        let mut seen = numbered(1..=3);
        seen.insert(
            2,
            SeenEvent {
                id: "2".into(),
                sets_id: false,
                data: "no id".into(),
            },
        );
        let replay = judged(&seen, 0, &numbered(2..=4));
        assert_eq!(
            replay.problem(),
            "1 of the 3 missed event(s) never came (id (no id, data \"no id\"))"
        );
    }

    #[test]
    fn id_lists_are_bounded_and_runs_are_ranges() {
        let labels = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(id_list(&labels(&["996"])), "id 996");
        assert_eq!(
            id_list(&labels(&["998", "999", "1000", "1002"])),
            "ids 998..1000, 1002"
        );
        let many: Vec<String> = (0..20).map(|n| (n * 2).to_string()).collect();
        assert_eq!(id_list(&many), "ids 0, 2, 4, 6, 8, 10 and 14 more");
        assert_eq!(id_list(&labels(&["\"a\"", "\"b\""])), "ids \"a\", \"b\"");
    }
}
