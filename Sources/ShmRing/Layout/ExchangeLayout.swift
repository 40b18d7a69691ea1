/// The exchange's area (see `Exchange`): the endpoint area
/// (`EndpointLayout`; its producer words belong to the client, its consumer
/// words to the server), then one channel per client (`capacity` channels;
/// one today), each two signal lines and two slots:
///
/// | offset (channel 0) | size | field         | written by | meaning                                              |
/// |-------------------:|-----:|---------------|------------|------------------------------------------------------|
/// |                128 |  384 | endpoint area | both       | owners, end of stream, wait words (`EndpointLayout`) |
/// |                512 |   64 | request line  | client     | signal word, then 56 inline bytes (+64 pad)          |
/// |                640 |   64 | response line | server     | as the request line (unused with one shared line)    |
/// |                768 |    S | request slot  | client     | a request longer than 56 bytes                       |
/// |            768 + S |    S | response slot | server     | a response longer than 56 bytes                      |
///
/// S = `slotSize` rounded up to 64; channel c starts at 512 + c × (256 + 2S).
/// After the last channel, rounded up to 128: the counters block
/// (`CountersLayout`, 2 × 128 bytes: slot 0 the client's, slot 1 the
/// server's, as a ring's producer and consumer).
/// Header fields: `capacity` = channels (must be 1 in this version),
/// `slotSize` = the largest message, parameter 0 = lines (1: the request line
/// carries both directions in turn; 2: one line per direction).
///
/// A signal word is `length << 32 | turn`: `turn` (u32, wrapping) is 2k - 1
/// for the k-th request and 2k for its response, `length` the message's
/// bytes (at most `slotSize`). A message of at most 56 bytes sits in its line
/// right after the signal word; a longer one in its direction's slot. The
/// word is release-stored after the bytes, so a reader whose acquire load
/// sees the turn it waits for sees the message.
public enum ExchangeLayout {
    public static let channelsOffset = EndpointLayout.dataOffset
    /// Within a channel.
    public static let requestLineOffset = 0
    public static let responseLineOffset = RegionLayout.hotLineSeparation
    public static let slotsOffset = 2 * RegionLayout.hotLineSeparation
    public static let signalWordSize = 8
    /// Message bytes that travel in the signal's own cache line.
    public static let inlineCapacity = 64 - signalWordSize
    /// The header parameter that holds the number of lines (1 or 2).
    public static let linesParameter = 0
    /// Channels (clients) this version supports.
    public static let supportedChannels = 1

    public static func slotStride(messageSize: Int) -> Int { (messageSize + 63) & ~63 }

    public static func channelStride(messageSize: Int) -> Int { slotsOffset + 2 * slotStride(messageSize: messageSize) }

    /// Total region size, or nil past `RegionLayout.maximumRegionSize`.
    public static func regionSize(channels: Int, maximumMessageSize: Int) -> Int? {
        CountersLayout.appended(to: RegionLayout.slotArraySize(offset: channelsOffset, capacity: channels,
                                                               stride: channelStride(messageSize: maximumMessageSize)),
                                slots: CountersLayout.slots(for: .exchange))
    }
}
