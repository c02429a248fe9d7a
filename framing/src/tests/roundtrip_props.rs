use proptest::prelude::*;

use crate::Status;
use crate::encode::encode_frame;
use crate::fuzzing;
use crate::header::{FrameConfig, FrameHeader, LengthEncoding, Role, decode_header, parse_frame};
use crate::opcode::{Opcode, Rsv};

prop_compose! {
    /// Any frame the encoder can write: any opcode, FIN, RSV, mask, and any length encoding
    /// that can hold the payload's length.
    fn any_frame()(
        opcode in 0u8..16,
        fin in any::<bool>(),
        rsv in 0u8..8,
        mask in proptest::option::of(any::<[u8; 4]>()),
        payload in prop::collection::vec(any::<u8>(), 0..400),
        encoding in prop_oneof![
            Just(None),
            Just(Some(LengthEncoding::Short)),
            Just(Some(LengthEncoding::Extended16)),
            Just(Some(LengthEncoding::Extended64)),
        ],
    ) -> (FrameHeader, Vec<u8>) {
        let mut header = FrameHeader::new(Opcode::from_bits(opcode), payload.len() as u64);
        header.fin = fin;
        header.rsv = Rsv::from_bits(rsv);
        header.mask = mask;
        if let Some(e) = encoding.filter(|e| e.can_hold(payload.len() as u64)) {
            header.length_encoding = e;
        }
        (header, payload)
    }
}

proptest! {
    /// Encode then parse gives back the header, field by field, and the payload, unmasked.
    #[test]
    fn encode_then_parse_round_trips((header, payload) in any_frame(), trailing in prop::collection::vec(any::<u8>(), 0..8)) {
        let mut wire = Vec::new();
        let n = encode_frame(&mut wire, &header, &payload).unwrap();
        prop_assert_eq!(n, header.header_len() + payload.len());
        wire.extend_from_slice(&trailing);
        prop_assert_eq!(decode_header(&wire), Status::Complete((header, header.header_len())));

        let sender = if header.mask.is_some() { Role::Client } else { Role::Server };
        let config = FrameConfig::new(sender).with_allowed_rsv(Rsv::ALL);
        let expected = config.validate(&header);
        match parse_frame(&mut wire, &config) {
            Ok(Status::Complete((frame, used))) => {
                prop_assert_eq!(expected, Ok(()));
                prop_assert_eq!(used, n);
                prop_assert_eq!(frame.header, header);
                prop_assert_eq!(&frame.payload[..], &payload[..]);
            }
            Ok(Status::Partial) => prop_assert!(false, "complete frame reported partial"),
            Err(e) => prop_assert_eq!(expected, Err(e)),
        }
    }

    /// The fuzz entry point, on arbitrary bytes.
    #[test]
    fn encode_parse_roundtrip_entry_point(data in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::encode_parse_roundtrip(&data);
    }
}

#[test]
fn roundtrip_at_boundary_lengths_in_every_encoding() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536] {
        for encoding in [
            LengthEncoding::Short,
            LengthEncoding::Extended16,
            LengthEncoding::Extended64,
        ] {
            if !encoding.can_hold(len as u64) {
                continue;
            }
            let mut data = vec![0x82, 0x80 | encoding_selector(encoding), 1, 2, 3, 4];
            data.extend(std::iter::repeat_n(0x5A, len));
            fuzzing::encode_parse_roundtrip(&data);
        }
    }
}

fn encoding_selector(e: LengthEncoding) -> u8 {
    match e {
        LengthEncoding::Short => 0,
        LengthEncoding::Extended16 => 1,
        LengthEncoding::Extended64 => 2,
    }
}
