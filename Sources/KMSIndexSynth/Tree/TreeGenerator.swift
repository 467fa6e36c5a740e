import Foundation

/// Generates a whole tree, one time slot at a time. In each slot every account/region stream
/// gets one log file: the records due in that slot (CloudTrail's delivery events for earlier
/// files, reads of log files, the partner copies of cross-account calls, duplicate
/// deliveries) plus everyday traffic up to the file's size budget, sorted by time.
final class TreeGenerator {
    private let options: SynthOptions
    private let firstDay: Int64
    private let slotMs: Int64
    private let slotCount: Int
    private let estate: Estate
    private let layout: TreeLayout
    private let output: TreeOutput
    private let factory: RecordFactory
    private let places: [StreamPlace]
    private let plan: SizePlan
    private var rng: SynthRandom
    private var pending: [[PendingRecord]]
    private var delivered: [[DeliveredLogFile]]
    private var truth = GroundTruthCollector()
    private var nextFileID = 0
    private let profile: ShapeProfile
    /// Streaming shapes: each stream's digest chain, written as its hours complete.
    private var chains: [DigestWriter.Chain] = []
    private var chainRngs: [SynthRandom] = []

    /// The share of records delivered a second time, in a later file.
    static let duplicateRate = 0.005
    /// Above this many uncompressed bytes a log file is written as several gzip members.
    static let memberSize = 16 << 20

    init(options: SynthOptions, root: URL) throws {
        self.options = options
        firstDay = try options.validatedStart()
        var rng = SynthRandom(seed: options.seed)
        var estateRng = rng.fork(1)
        if let estateSeed = options.estateSeed {
            var other = SynthRandom(seed: estateSeed)
            estateRng = other.fork(1)
        }
        estate = Estate(options: options, rng: &estateRng)
        layout = TreeLayout(estate: estate)
        output = TreeOutput(root: root)
        profile = options.shape.profile
        factory = RecordFactory(rng: rng.fork(2), estate: estate, profile: profile, seed: options.seed)
        places = estate.accounts.flatMap { account in
            account.regionEstates.map { StreamPlace(account: account, region: $0) }
        }
        slotMs = UTCTime.msPerDay / Int64(options.filesPerDay)
        slotCount = options.days * options.filesPerDay
        var planRng = rng.fork(3)
        plan = SizePlan(
            slots: slotCount, streams: places.count, regionsPerAccount: options.regions.count,
            target: options.targetUncompressedBytes, sizing: profile.sizing, filesPerDay: options.filesPerDay,
            rng: &planRng)
        self.rng = rng.fork(4)
        pending = Array(repeating: [], count: places.count)
        delivered = Array(repeating: [], count: places.count)
        if profile.streaming {
            // Their own sequences: how generation and digests interleave changes nothing.
            var digestRng = SynthRandom(seed: options.seed ^ 0x6469_6765_7374_735F)  // "digests_"
            for _ in places.indices {
                var chainRng = digestRng.fork(5)
                chains.append(DigestWriter.Chain(firstDay: firstDay, rng: &chainRng))
                chainRngs.append(chainRng)
            }
        }
        if options.shape != .default { truth.shape = options.shape.rawValue }
        if options.s3DataEvents {
            truth.s3Reads = [:]
            truth.syncPrincipals = Set(estate.trails.map { estate.accounts[$0.ownerIndex].role(.logIngest).arn }).sorted()
        }
    }

    /// The stream of an account's region.
    private func streamIndex(account: Int, region: String) -> Int {
        account * options.regions.count + (options.regions.firstIndex(of: region) ?? 0)
    }

    func run() throws -> GroundTruth {
        let logs = output.root.appendingPathComponent("AWSLogs")
        if FileManager.default.fileExists(atPath: logs.path) {
            throw SynthError.io(path: logs.path, reason: "already exists; remove it or choose another folder")
        }
        if profile.streamingTruth {
            let url = output.root.appendingPathComponent(GroundTruth.readsFileName)
            try FileManager.default.createDirectory(at: output.root, withIntermediateDirectories: true)
            truth.readsWriter = try ReadsFileWriter(url: url)
        }
        let signer = options.signDigests ? try DigestSigner() : nil
        let digests = DigestWriter(estate: estate, layout: layout, signer: signer)
        // Streaming: digests every quarter of a day, once the files of those hours are written.
        let flushEvery = max(1, options.filesPerDay / 4)
        for slot in 0..<slotCount {
            scheduleSlotEvents(slot)
            for stream in places.indices {
                try writeLogFile(stream: stream, slot: slot)
            }
            if profile.streaming && (slot + 1) % flushEvery == 0 {
                try output.drain()
                // Files of later slots are delivered after their slot ends: hours ending by
                // the end of this slot are complete.
                try writeDigests(digests, safe: firstDay + Int64(slot + 1) * slotMs)
            }
        }
        try output.drain()

        if profile.streaming {
            try writeDigests(digests, safe: nil)
        } else {
            for stream in places.indices {
                chains.append(
                    try digests.write(
                        account: stream / options.regions.count, region: places[stream].region.name,
                        files: delivered[stream], firstDay: firstDay, output: output, rng: &rng))
                truth.digestFiles += chains[stream].written
            }
        }
        try truth.readsWriter?.close()
        let extras = ExtraFiles(estate: estate, layout: layout)
        truth.insightFiles += try extras.writeInsights(firstDay: firstDay, days: options.days, output: output, rng: &rng)
        truth.otherFiles += try extras.writeStrayFiles(firstDay: firstDay, output: output)

        var result = truth.finish()
        if let signer { try writeSignedChains(signer, into: &result) }
        let truthURL = output.root.appendingPathComponent(GroundTruth.fileName)
        do {
            try result.jsonData().write(to: truthURL)
        } catch {
            throw SynthError.io(path: truthURL.path, reason: "cannot write: \(error.localizedDescription)")
        }
        return result
    }

    /// Streaming shapes: moves the delivered files into their chains and writes the complete
    /// hours (all remaining ones when `safe` is nil).
    private func writeDigests(_ digests: DigestWriter, safe: Int64?) throws {
        for stream in places.indices {
            for file in delivered[stream] { chains[stream].add(file) }
            delivered[stream].removeAll(keepingCapacity: true)
            let before = chains[stream].written
            try digests.writeCompleteHours(
                of: &chains[stream], account: stream / options.regions.count, region: places[stream].region.name,
                safe: safe, output: output, rng: &chainRngs[stream])
            truth.digestFiles += chains[stream].written - before
        }
    }

    /// Signed trees: the ground truth of each chain, the public key file and the digests' own
    /// signatures.
    private func writeSignedChains(_ signer: DigestSigner, into truth: inout GroundTruth) throws {
        truth.digestChains = zip(places, chains).compactMap { place, chain in
            guard let oldest = chain.oldest, let newest = chain.newest else { return nil }
            return GroundTruthDigestChain(
                account: place.account.id, region: place.region.name, digests: chain.written, oldest: oldest, newest: newest)
        }
        // Valid from the first day to a day after the last digest.
        let keys = signer.publicKeysJSON(validFrom: firstDay, validUntil: firstDay + Int64(options.days + 2) * UTCTime.msPerDay)
        let lines = chains.flatMap(\.signatureLines).joined(separator: "\n") + "\n"
        for (name, data) in [(GroundTruth.publicKeysFileName, keys), (GroundTruth.digestSignaturesFileName, Data(lines.utf8))] {
            let url = output.root.appendingPathComponent(name)
            do {
                try data.write(to: url)
            } catch {
                throw SynthError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
            }
        }
        truth.publicKeysFile = GroundTruth.publicKeysFileName
        truth.digestSignaturesFile = GroundTruth.digestSignaturesFileName
    }

    /// Compressed size of everything written.
    var compressedBytes: Int { output.compressedBytes }

    // MARK: Records that belong to a slot before its files are written

    private func scheduleSlotEvents(_ slot: Int) {
        let start = firstDay + Int64(slot) * slotMs
        if slot == 0 {
            for trail in estate.trails {
                let mark = factory.emitted.count
                factory.trailKeyCheck(trail, at: start + 2000)
                pending[streamIndex(account: trail.ownerIndex, region: trail.homeRegion)] += factory.takeRecords(since: mark)
            }
            let mark = factory.emitted.count
            factory.showcase(places[0], from: start, to: start + slotMs)
            pending[0] += factory.takeRecords(since: mark)
        }
        guard estate.accounts.count > 1 else { return }
        for stream in places.indices {
            let caller = places[stream].account
            let region = places[stream].region.name
            var ownerIndex = factory.rng.below(estate.accounts.count - 1)
            if ownerIndex >= caller.index { ownerIndex += 1 }
            let ownerStream = streamIndex(account: ownerIndex, region: region)
            // As many as the smaller of the two files can take: a heavy file's traffic must
            // not flood its partner's small file.
            let budget = min(plan.budgets[slot * places.count + stream], plan.budgets[slot * places.count + ownerStream])
            let expected = max(0.15, Double(budget) / 120_000)
            var count = Int(expected)
            if factory.rng.chance(expected - Double(count)) { count += 1 }
            if slot == 0 && stream == 0 { count = max(count, 1) }
            for _ in 0..<count {
                let time = start + Int64(factory.rng.below(Int(slotMs / 1000))) * 1000
                let mark = factory.emitted.count
                factory.crossAccountCall(caller: caller, owner: estate.accounts[ownerIndex], regionName: region, at: time)
                let pair = factory.takeRecords(since: mark)
                pending[stream].append(pair[0])
                pending[ownerStream].append(pair[1])
            }
        }
    }

    // MARK: One log file

    private func writeLogFile(stream: Int, slot: Int) throws {
        let place = places[stream]
        let windowStart = firstDay + Int64(slot) * slotMs
        let windowEnd = windowStart + slotMs
        factory.resetBuffer()

        var later: [PendingRecord] = []
        for record in pending[stream] {
            if record.time < windowEnd && record.minSlot <= slot {
                factory.append(record)
            } else {
                later.append(record)
            }
        }
        pending[stream] = later

        let budget = plan.budgets[slot * places.count + stream]
        let seconds = Int(slotMs / 1000)
        repeat {
            factory.background(place, at: windowStart + Int64(factory.rng.below(seconds)) * 1000)
        } while factory.out.bytes.count < budget

        // CloudTrail writes the records of a file roughly in time order.
        let records = factory.emitted.enumerated().sorted { a, b in
            a.element.time != b.element.time ? a.element.time < b.element.time : a.offset < b.offset
        }.map(\.element)
        var content: [UInt8] = []
        content.reserveCapacity(factory.out.bytes.count + records.count + 16)
        content.append(contentsOf: Array(#"{"Records":["#.utf8))
        factory.out.bytes.withUnsafeBufferPointer { all in
            for (index, record) in records.enumerated() {
                if index > 0 { content.append(UInt8(ascii: ",")) }
                content.append(contentsOf: UnsafeBufferPointer(rebasing: all[record.start..<record.end]))
            }
        }
        content.append(contentsOf: Array("]}".utf8))

        let delay = min(slotMs / 2, 4 * UTCTime.msPerMinute)
        let delivery = windowEnd + UTCTime.msPerMinute + Int64(factory.rng.below(Int(delay / 1000) + 1)) * 1000
        let key = layout.logFileKey(
            account: place.account.index, region: place.region.name, delivery: delivery, unique: rng.alphanumeric(16))

        // A few files are concatenated gzip members: all big ones, and one small one early on.
        var memberSize: Int? = content.count > Self.memberSize ? Self.memberSize / 2 : nil
        if slot == 0 && stream == min(1, places.count - 1) && content.count > 2 {
            memberSize = content.count / 2 + 1
        }
        let fileID = nextFileID
        nextFileID += 1
        output.submitLog(id: fileID, content: content, key: key, mtime: delivery, memberSize: memberSize)

        truth.logFiles += 1
        truth.uncompressedBytes += content.count
        for record in records {
            if let facts = record.facts { try truth.add(facts, isDuplicate: record.isDuplicate) }
            if let s3Read = record.s3Read { truth.add(s3Read, isDuplicate: record.isDuplicate) }
        }
        delivered[stream].append(
            DeliveredLogFile(
                id: fileID, key: key, delivery: delivery, oldestEvent: records.first?.time ?? windowStart,
                newestEvent: records.last?.time ?? windowStart))

        scheduleDuplicates(of: records, stream: stream, slot: slot)
        scheduleDeliveryAndReads(of: key, account: place.account.index, delivery: delivery)
    }

    /// Some records are delivered a second time, byte for byte, in one of the next few files
    /// of the same stream (spread, so a heavy file's duplicates do not swell one small file).
    /// The very first file always re-delivers a KMS record and another record in the next file.
    private func scheduleDuplicates(of records: [EmittedRecord], stream: Int, slot: Int) {
        var forcedKMS = slot == 0 && stream == 0
        var forcedOther = forcedKMS
        for record in records where !record.isDuplicate {
            var again = factory.rng.chance(Self.duplicateRate)
            var nextFile = true
            if forcedKMS && record.isKMS {
                (again, forcedKMS) = (true, false)
            } else if forcedOther && !record.isKMS {
                (again, forcedOther) = (true, false)
            } else {
                nextFile = false
            }
            guard again else { continue }
            pending[stream].append(
                PendingRecord(
                    time: record.time, bytes: factory.bytes(of: record), isKMS: record.isKMS, facts: record.facts,
                    isDuplicate: true, minSlot: slot + 1 + (nextFile ? 0 : factory.rng.below(6)), s3Read: record.s3Read))
        }
    }

    /// The GenerateDataKey that encrypted the file (logged where the trail's key lives, in a
    /// later file) and the Decrypts of those who read it.
    private func scheduleDeliveryAndReads(of key: String, account: Int, delivery: Int64) {
        let trail = estate.trail(forAccount: account)
        let home = streamIndex(account: trail.ownerIndex, region: trail.homeRegion)
        var mark = factory.emitted.count
        factory.logFileDelivery(trail, objectKey: key, at: delivery - Int64(factory.rng.int(in: 1...20)) * 1000)
        pending[home] += factory.takeRecords(since: mark)

        // With S3 data events, the sync role reads every log file, and each read is in the data
        // events too; the Bucket Keys bucket is read as well (`s3DataEventReads`).
        let reader = logReaderAccount(of: trail)
        if factory.rng.chance(0.6) || options.s3DataEvents {
            mark = factory.emitted.count
            let after = Int64(factory.rng.int(in: 120...900)) * 1000
            factory.logFileRead(
                trail, objectKey: key, at: delivery + after, ingest: true, dataEvent: options.s3DataEvents, readerAccount: reader)
            addLogRead(factory.takeRecords(since: mark), home: home, reader: reader, region: trail.homeRegion)
        }
        if options.s3DataEvents {
            mark = factory.emitted.count
            factory.s3DataEventReads(trail, objectKey: key, at: delivery + Int64(factory.rng.int(in: 900...7200)) * 1000)
            pending[home] += factory.takeRecords(since: mark)
        }
        if factory.rng.chance(0.06) {
            for _ in 0..<factory.rng.int(in: 1...2) {
                mark = factory.emitted.count
                let after = Int64(factory.rng.int(in: 600...172_800)) * 1000
                // Half the auditors work from the readers' account, half from the key's.
                let auditor = reader.flatMap { factory.rng.chance(0.5) ? $0 : nil }
                factory.logFileRead(trail, objectKey: key, at: delivery + after, ingest: false, readerAccount: auditor)
                addLogRead(factory.takeRecords(since: mark), home: home, reader: auditor, region: trail.homeRegion)
            }
        }
    }

    /// The account whose roles read the trail's log files, when the shape puts them in another
    /// account than the key's (`ShapeProfile.logReadersElsewhere`): the second account, or the
    /// first when the key is the second's.
    private func logReaderAccount(of trail: Trail) -> Account? {
        guard profile.logReadersElsewhere, estate.accounts.count > 1 else { return nil }
        return estate.accounts[trail.ownerIndex == 0 ? 1 : 0]
    }

    /// Queues the records of one log file read: a cross-account read's two copies go to the
    /// reader's file and to the key owner's (`RecordFactory.crossAccountLogFileRead`), any other
    /// read to the key owner's.
    private func addLogRead(_ records: [PendingRecord], home: Int, reader: Account?, region: String) {
        guard let reader, records.count == 2 else {
            pending[home] += records
            return
        }
        pending[streamIndex(account: reader.index, region: region)].append(records[0])
        pending[home].append(records[1])
    }
}
