/// The everyday mix of a log file: about 20% KMS records, the rest S3, STS, Lambda, EC2,
/// IAM, monitoring, sign-in.
extension RecordFactory {
    /// The share of KMS records the default shape steers toward (`ShapeProfile.kmsShare`).
    static let kmsShare = 0.2

    private static let otherTable = WeightedTable([
        36,  // S3 data events
        7,  // EC2
        16,  // STS
        5,  // IAM
        11,  // Lambda
        1.5,  // ConsoleLogin
        1.5,  // Identity Center, sign-in, directory
        9,  // monitoring and config
        0.1,  // a service event with no userIdentity
    ])

    /// Emits one unit of traffic at `time` (usually one record; an S3 read may come with its
    /// KMS Decrypt). The KMS share is steered toward the shape's share over everything emitted.
    func background(_ place: StreamPlace, at time: Int64) {
        // CloudTrail's own KMS calls (deliveries, reads) come on top: lean against the excess.
        let share = profile.kmsShare
        let deficit = share * Double(totalRecords + 1) - Double(kmsRecords)
        let p = min(profile.maxKMSChance, max(0.02, share + 0.02 * deficit))
        if rng.chance(p) {
            backgroundKMS(place, at: time)
        } else {
            backgroundOther(place, at: time)
        }
    }

    private func backgroundOther(_ place: StreamPlace, at time: Int64) {
        switch Self.otherTable.draw(&rng) {
        case 0: backgroundS3(place, at: time)
        case 1: backgroundEC2(place, at: time)
        case 2: backgroundSTS(place, at: time)
        case 3: backgroundIAM(place, at: time)
        case 4: backgroundLambda(place, at: time)
        case 5: consoleLogin(place, at: time)
        case 6: backgroundIdentityCenter(place, at: time)
        case 7: backgroundMonitoring(place, at: time)
        default: snapshotServiceEvent(place, at: time)
        }
    }
}
