//! DER, as far as reading keys and certificates needs it: one element of a given tag.

/// One DER element: all its bytes, and its contents.
pub(crate) struct Element<'a> {
    pub(crate) whole: &'a [u8],
    pub(crate) contents: &'a [u8],
}

/// The DER element of type `tag` at the start of `der`, and what follows it.
pub(crate) fn der_element(der: &[u8], tag: u8) -> Option<(Element<'_>, &[u8])> {
    let (&found, rest) = der.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x83 => {
            let count = usize::from(first & 0x7f);
            let (bytes, rest) = (rest.get(..count)?, rest.get(count..)?);
            let len = bytes
                .iter()
                .fold(0usize, |len, byte| (len << 8) | usize::from(*byte));
            (len, rest)
        }
        _ => return None,
    };
    let contents = rest.get(..len)?;
    let header_len = der.len() - rest.len();
    Some((
        Element {
            whole: der.get(..header_len + len)?,
            contents,
        },
        rest.get(len..)?,
    ))
}
