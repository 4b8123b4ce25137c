// Peak memory against document size: `kenpo import` of one kenpo-format cost-notice document
// (医療費通知情報) for one member, at growing numbers of 通知 lines (about 400 bytes each), each into a
// fresh copy of a small data folder. The target: peak RSS flat in document size (the largest ≤ 1.15×
// the smallest). A checkup document cannot grow the same way (its items are a fixed set, and text and
// attribute values are capped at 64 KB), so the notice is the document that tests it.
import Foundation
import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

/// Notice lines per document: about 12 KB, 1.2 MB, 12 MB and 120 MB (the quick run stops at 12 MB).
func documentSizes(quick: Bool) -> [Int] { quick ? [30, 3_000, 30_000] : [30, 3_000, 30_000, 300_000] }

func runDocumentSizeBench(_ o: BenchOptions, env: BenchEnvironment) -> [ResultRow] {
    let sizes = documentSizes(quick: o.quick)
    print("\n== peak memory by document size (kenpo import of one cost-notice document: \(sizes.map(grouped).joined(separator: ", ")) notices)")
    let root = absolutePath("\(o.dir)/kenpo-bench/docsize-s\(o.seed)")
    makeFolder(root)

    // A member master of 100 members (generated roster, eligibility), made once per seed.
    let base = root + "/base-var"
    let stampPath = root + "/bench-stamp.txt"
    let stamp = "docsize members=100 seed=\(o.seed) generator=\(RosterGenerator.version)\n"
    if !stampMatches(stampPath, stamp) || !FileManager.default.fileExists(atPath: base + "/state/current/members.csv") {
        removeIfPresent(root + "/inbox"); removeIfPresent(base); removeIfPresent(stampPath)
        let g = measure([env.kenpo, "generate", "--members", "100", "--seed", String(o.seed), "--out", root + "/inbox", "--date", runDateText],
                        stdoutPath: root + "/generate.out", stderrPath: root + "/generate.err")
        guard g.status == 0 else { fail("kenpo generate \(g.how): \(tail(root + "/generate.err", lines: 10))", status: 1) }
        let e = measure([env.kenpo, "eligibility", "--data", base, "--date", runDateText, "--profile", o.profile,
                         root + "/inbox/\(o.profile)/roster.csv"],
                        stdoutPath: root + "/eligibility.out", stderrPath: root + "/eligibility.err")
        guard e.status == 0 || e.status == 3 else { fail("kenpo eligibility \(e.how): \(tail(root + "/eligibility.err", lines: 10))", status: 1) }
        writeStamp(stampPath, stamp)
    }
    guard let member = firstActiveMember(base + "/state/current/members.csv") else {
        fail("no active member in \(base)/state/current/members.csv", status: 1)
    }

    var results: [(notices: Int, bytes: Int, m: Measurement)] = []
    for n in sizes {
        let document = root + "/notice-\(n).xml"
        if fileSize(document) == 0 { writeCostNotice(to: document, member: member, notices: n) }
        let data = root + "/var-\(n)"
        removeIfPresent(data)
        copyTree(base, to: data)
        let m = measure([env.kenpo, "import", "--data", data, "--date", runDateText, "--workers", "1", document],
                        stdoutPath: root + "/import-\(n).out", stderrPath: root + "/import-\(n).err", pin: "0")
        let imported = publishedManifest(data: data)?.summary["cost_notice_added"] == n
        if m.status != 0 || !imported {
            checkFailed("docsize: kenpo import of \(n) notices \(m.how) or did not store \(n) notices; see \(root)/import-\(n).err")
        }
        print(String(format: "  %@ notices (%@): %.2f s, peak %.0f MB", grouped(n), mb(fileSize(document)), m.seconds, m.peakMB))
        results.append((n, fileSize(document), m))
        removeIfPresent(data)
    }
    guard let small = results.first, let large = results.last else { return [] }
    var rows: [ResultRow] = []
    for r in results {
        let growth = Double(r.m.maxRSSKiB) / Double(small.m.maxRSSKiB)
        rows.append(ResultRow(stage: "import peak RSS by document size", input: "1 document, \(grouped(r.notices)) notices, \(mb(r.bytes))",
                              kenpo: String(format: "%@, %.0f MB", seconds(r.m.seconds), r.m.peakMB),
                              anchor: r.notices == small.notices ? "(the smallest)" : String(format: "%.0f MB at %@ notices", small.m.peakMB, grouped(small.notices)),
                              ratio: String(format: "%.2f×", growth),
                              target: r.notices == large.notices ? "flat (≤ 1.15×)" : "–",
                              met: r.notices == large.notices ? growth <= 1.15 : nil, kenpoRSSKiB: r.m.maxRSSKiB))
    }
    return rows
}

/// The first active member of a member master, read with kenpo's own CSV reader and record (so
/// quoted fields and a changed column order are no concern of the bench's); nil when none is active.
private func firstActiveMember(_ path: String) -> MemberRecord? {
    guard let csv = try? CSVReader(path: path), (try? csv.next()) == true else { return nil }  // the header
    while (try? csv.next()) == true {
        let fields = (0..<csv.fieldCount).map { String(decoding: csv.fieldBytes($0), as: UTF8.self) }
        if csv.malformed == nil, let m = MemberRecord(fields: fields), m.status == .active { return m }
    }
    return nil
}

/// One cost-notice document with `notices` distinct 通知 lines (month, institution) for `member`.
private func writeCostNotice(to path: String, member: MemberRecord, notices: Int) {
    // Written beside its name and renamed when whole: an interrupted run leaves no half document to reuse.
    let part = path + ".part"
    guard FileManager.default.createFile(atPath: part, contents: nil), let out = FileHandle(forWritingAtPath: part) else {
        fail("cannot write \(part)", status: 1)
    }
    var text = """
    <?xml version="1.0" encoding="UTF-8"?>
    <医療費通知情報 xmlns="urn:kenpo:xml:cost-notice:1" 形式="kenpo-cost-notice" 版="1">
    <被保険者><保険者番号>\(member.insurerNumber)</保険者番号><記号>\(member.symbol)</記号><番号>\(member.number)</番号>\
    \(member.branch.isEmpty ? "" : "<枝番>\(member.branch)</枝番>")<カナ氏名>\(member.kanaName)</カナ氏名><生年月日>\(member.birthDate)</生年月日></被保険者>

    """
    for i in 0..<notices {
        let month = String(format: "%04d-%02d", 2000 + (i / 12) % 26, i % 12 + 1)
        text += "<通知><診療年月>\(month)</診療年月><診療区分>外来</診療区分><日数>2</日数><医療機関等名称>かもめ内科クリニック\(i)</医療機関等名称>"
            + "<医療費の総額>78,040</医療費の総額><保険者の負担額>54,628</保険者の負担額><その他の公費の負担額>0</その他の公費の負担額>"
            + "<窓口相当負担額>23,412</窓口相当負担額></通知>\n"
        if text.utf8.count > 1 << 20 { out.write(Data(text.utf8)); text = "" }
    }
    text += "</医療費通知情報>\n"
    out.write(Data(text.utf8))
    try? out.close()
    guard rename(part, path) == 0 else { fail("cannot rename \(part) to \(path)", status: 1) }
}
