/// Where CloudTrail puts each kind of file in the bucket.
struct TreeLayout {
    let estate: Estate

    /// `AWSLogs/[o-ORG/]ACCT/CloudTrail/REGION/YYYY/MM/DD/ACCT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`,
    /// dated by delivery time.
    func logFileKey(account: Int, region: String, delivery: Int64, unique: String) -> String {
        let id = estate.accounts[account].id
        return estate.logPrefix(account: account) + "CloudTrail/\(region)/\(UTCTime.datePath(delivery))/"
            + "\(id)_CloudTrail_\(region)_\(UTCTime.compactMinutes(delivery))_\(unique).json.gz"
    }

    /// `AWSLogs/[o-ORG/]ACCT/CloudTrail-Digest/REGION/YYYY/MM/DD/ACCT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHmmssZ.json.gz`,
    /// dated by the digest's end time.
    func digestKey(account: Int, region: String, end: Int64) -> String {
        let id = estate.accounts[account].id
        let trail = estate.trail(forAccount: account)
        return estate.logPrefix(account: account) + "CloudTrail-Digest/\(region)/\(UTCTime.datePath(end))/"
            + "\(id)_CloudTrail-Digest_\(region)_\(trail.name)_\(trail.homeRegion)_\(UTCTime.compactSeconds(end)).json.gz"
    }

    /// `AWSLogs/[o-ORG/]ACCT/CloudTrail-Insight/REGION/YYYY/MM/DD/ACCT_CloudTrail-Insight_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`.
    func insightKey(account: Int, region: String, delivery: Int64, unique: String) -> String {
        let id = estate.accounts[account].id
        return estate.logPrefix(account: account) + "CloudTrail-Insight/\(region)/\(UTCTime.datePath(delivery))/"
            + "\(id)_CloudTrail-Insight_\(region)_\(UTCTime.compactMinutes(delivery))_\(unique).json.gz"
    }
}
