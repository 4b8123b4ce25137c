import Foundation
@testable import KenpoCore

/// The sample insurers' profiles (pipelines/profiles/, kept here so a crash file reproduces on its
/// own) and a header-less variant that maps columns by number.
private let rosterProfiles: [InsurerProfile] = {
    let kamome = """
    [insurer]
    name = sample-kamome
    insurer_number = 06139992
    [file]
    encoding = CP932
    header = yes
    date_style = era-code, era-kanji, era-letter
    [columns]
    insurer_number = 保険者番号
    symbol = 記号
    number = 番号
    branch = 枝番
    kana_name = ｶﾅ氏名
    kanji_name = 漢字氏名
    sex = 性別
    birth_date = 生年月日
    relationship = 続柄区分
    qualified_date = 資格取得日
    disqualified_date = 資格喪失日
    postal_code = 郵便番号
    address = 住所1
    address2 = 住所2
    former_insurer_number = 旧保険者番号
    former_symbol = 旧記号
    former_number = 旧番号
    [values.relationship]
    1 = insured
    2 = dependant
    5 = special_retiree_insured
    6 = special_retiree_dependant
    """
    let tsubame = """
    [insurer]
    name = sample-tsubame
    insurer_number = 06279996
    [file]
    encoding = UTF-8
    header = yes
    date_style = yyyymmdd, iso
    [columns]
    member_ref = 個人管理番号
    insurer_number = 保険者番号
    symbol = 被保険者証記号
    number = 被保険者証番号
    branch = 枝番
    kana_name = 氏名カナ
    kanji_name = 氏名
    birth_date = 生年月日
    sex = 性別
    relationship = 本人家族
    qualified_date = 資格取得年月日
    disqualified_date = 資格喪失年月日
    postal_code = 郵便番号
    address = 住所
    [values.sex]
    男 = M
    女 = F
    """
    let numbered = """
    [insurer]
    name = fuzz-numbered
    insurer_number = 06139992
    [file]
    encoding = UTF-8
    header = no
    date_style = auto
    [columns]
    insurer_number = 1
    symbol = 2
    number = 3
    kana_name = 4
    birth_date = 5
    sex = 6
    qualified_date = 7
    disqualified_date = 8
    former_insurer_number = 9
    former_symbol = 10
    former_number = 11
    """
    return [kamome, tsubame, numbered].map { try! InsurerProfile.parse($0, path: "fuzz.profile") }
}()

private let runDate = CalendarDate(year: 2026, month: 11, day: 21)!

/// RosterReader on arbitrary roster files: the first byte picks the profile (the sample かもめ
/// CP932 profile, the sample つばめ UTF-8 profile, or a header-less one), the rest is the file.
/// Every accepted row is normalised: the kana name re-normalises to itself and its key matches,
/// the card keys are fixed points of their folding, the insurer number is valid (and the profile's),
/// dates are ISO dates in order and not after the run date, sex and relationship are canonical, and
/// the member record survives kenpo's own spool encoding (`encodeCSV` → `CSVLine` → `init(fields:)`).
/// A rejected row carries a reject reason and its raw fields; records come out with rising lines.
let rosterTarget = FuzzTarget(name: "roster", summary: "RosterReader (3 profiles) on roster files: accepted rows are normalised fixed points") { bytes in
    let t = "roster"
    guard let selector = bytes.first else { return }
    let profile = rosterProfiles[Int(selector) % rosterProfiles.count]
    let path = Scratch.write(Array(bytes.dropFirst()), as: "roster.csv")
    guard let reader = try? RosterReader(profile: profile, path: path, runDate: runDate) else { return }
    var lastLine = 0
    var records = 0
    while true {
        let record: RosterRecord?
        do { record = try reader.next() } catch { return }
        guard let record else { break }
        records += 1
        switch record {
        case .rejected(let problem, let line, _, let raw):
            property(line >= lastLine, t, "rejected record on line \(line) after line \(lastLine)")
            lastLine = line
            property(!problem.detail.isEmpty, t, "a reject without a message (\(problem.reason))")
            _ = raw
        case .accepted(let row, let line):
            property(line >= lastLine, t, "accepted record on line \(line) after line \(lastLine)")
            lastLine = line
            let m = row.member
            property(KanaName.normalise(m.kanaName) == .success(m.kanaName), t, "kana name \(m.kanaName) is not normalised")
            property(KanaName.key(normalised: m.kanaName) == m.kanaKey, t, "kana key \(m.kanaKey) for \(m.kanaName)")
            property(InsurerNumber.isValid(m.insurerNumber), t, "insurer number \(m.insurerNumber) accepted")
            if let own = profile.insurerNumber { property(m.insurerNumber == own, t, "insurer \(m.insurerNumber) under profile \(own)") }
            property(CardKeys.symbolKey(m.symbolKey) == m.symbolKey, t, "symbol key \(m.symbolKey) is not a fixed point")
            property(CardKeys.numberKey(m.numberKey) == m.numberKey, t, "number key \(m.numberKey) is not a fixed point")
            property(CardKeys.branch(m.branch) == m.branch, t, "branch \(m.branch) is not a fixed point")
            guard let birth = CalendarDate(iso: m.birthDate) else { property(false, t, "birth date \(m.birthDate) is not ISO"); return }
            property(birth <= runDate, t, "birth date \(birth) after the run date")
            property(m.qualifiedDate.isEmpty || CalendarDate(iso: m.qualifiedDate) == row.qualified, t, "qualified \(m.qualifiedDate)")
            property(m.disqualifiedDate.isEmpty || CalendarDate(iso: m.disqualifiedDate) == row.disqualified, t, "disqualified \(m.disqualifiedDate)")
            if let q = row.qualified, let d = row.disqualified { property(q <= d, t, "qualified \(q) after disqualified \(d)") }
            if let q = row.qualified { property(birth <= q, t, "qualified \(q) before birth \(birth)") }
            property(["M", "F", "U"].contains(m.sex), t, "sex \(m.sex)")
            property(["insured", "dependant"].contains(m.relationship), t, "relationship \(m.relationship)")
            property(m.cardAliases.hasPrefix(m.cardKey), t, "card aliases \(m.cardAliases) do not start with \(m.cardKey)")
            var spooled: [UInt8] = []
            m.encodeCSV(into: &spooled)
            let back = spooled.withUnsafeBytes { CSVLine.parse($0) }
            property(MemberRecord(fields: back) == m, t, "member record changes through the spool encoding: \(show(spooled))")
        }
    }
    property(reader.recordsRead == records, t, "recordsRead \(reader.recordsRead), \(records) records returned")
    _ = try? reader.finish()
}
