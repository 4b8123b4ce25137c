import Foundation
import Testing
@testable import KenpoCore

/// The roster reader normalises from bytes into one buffer per row (MemberRow) and the stage hashes
/// keys from those bytes. These tables hold them to the String rules they stand for: same field
/// values, same reject, same key hashes, same members.csv bytes, over awkward input.
@Suite struct RosterBytePathTests {
    /// Every field mapped, UTF-8 (the reader's UTF-8 path) — the CP932 path is checked below: the
    /// shared test profile plus the member reference and address columns.
    static let profileText = testProfileText + """

    member_ref = ref
    postal_code = zip
    address = addr1
    address2 = addr2
    """
    static let header = ["ins", "sym", "num", "br", "kana", "kanji", "birth", "sex", "rel", "q", "dq", "ref", "zip", "addr1", "addr2", "fins", "fsym", "fnum"]
    static let good = ["06139992", "1001", "12345678", "00", "ﾔﾏﾀﾞ ｷｮｳｺ", "山田 恭子", "S55.1.2", "2", "本人", "2000/04/01", "", "", "123-4567", "東京都", "", "", "", ""]

    /// One changed field of the good row each: (column, value).
    static let variants: [(String, String)] = [
        ("ins", "０６１３９９９２"), ("ins", " 06139992 "), ("ins", "6139992"), ("ins", "06139993"), ("ins", "06279996"), ("ins", "0613999x"),
        ("sym", "ｱｲ12"), ("sym", "ab c"), ("sym", "ＡＢ１"), ("sym", "仙台62"), ("sym", "①Ⅱ"), ("sym", "ｶﾞ"), ("sym", "　"), ("sym", "ﾞ"),
        ("sym", "か\u{3099}"), ("sym", "7176"),
        ("num", "0012345678"), ("num", "１２３ ４５６"), ("num", "000"), ("num", "12a"), ("num", "　"), ("num", "1234567"),
        ("br", ""), ("br", "1"), ("br", "001"), ("br", "１２"), ("br", "x"), ("br", "4294967295"),
        ("kana", "ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ"), ("kana", "ｳﾞｧｲｵﾘﾝ"), ("kana", "ﾜﾞｦﾞ"), ("kana", "ｷｮｳｺｰ"), ("kana", "カ\u{3099}タ"),
        ("kana", "か゛な"), ("kana", "やまだ・はなこ"), ("kana", "ﾞｱ"), ("kana", "ヤマダ　ハナコ"), ("kana", "山田"), ("kana", "・　"),
        ("kana", "ｱ\u{1B}[2J"), ("kana", "ヽヾ"), ("kana", "ァィゥェォッャュョヮヵヶ"),
        ("kanji", "　山田　"), ("kanji", "山\u{1B}田"), ("kanji", "山\u{85}田"), ("kanji", "e\u{301}\u{7}"), ("kanji", "\"山,田\""),
        ("birth", "３５５０１０２"), ("birth", "19800102"), ("birth", "昭和55年1月2日"), ("birth", "平成元年5月1日"), ("birth", "R元.5.1"),
        ("birth", "㍼55.1.2"), ("birth", "S64.1.8"), ("birth", "1980/02/30"), ("birth", "2030/01/01"), ("birth", "1980/01/02 0:00"),
        ("birth", "x"), ("birth", "4310501"),
        ("sex", "男"), ("sex", "Ｆ"), ("sex", "female"), ("sex", ""), ("sex", "3"),
        ("rel", "2"), ("rel", "特退本人"), ("rel", "DEPENDENT"), ("rel", "?"),
        ("q", ""), ("q", "1970/01/01"), ("dq", "1999/01/01"), ("dq", "2026/11/21"), ("q", "2027/01/01"),
        ("ref", "Ａ－１２"), ("ref", " x "),
        ("zip", "〒１２３－４５６７"), ("zip", "12345"), ("zip", "１２３ ４５６７"),
        ("addr1", "東京都\r\n千代田区"), ("addr1", "東京都\u{1B}"), ("addr2", "ビル 5F"), ("addr2", "\t"), ("addr2", "a,\"b\""),
        ("fins", "06139992"), ("fsym", "1"), ("fnum", "2"),
    ]

    static func roster(_ rows: [[String]]) -> String {
        func quoted(_ v: String) -> String { "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        return ([header] + rows).map { $0.map(quoted).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func read(_ text: String, profileText: String = profileText, encode: (String) -> [UInt8] = { Array($0.utf8) }) throws -> [RosterRecord] {
        let profile = try InsurerProfile.parse(profileText, path: "bytes.profile")
        let path = NSTemporaryDirectory() + "kenpo-bytes-\(UUID().uuidString).csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data(encode(text)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try RosterReader(profile: profile, path: path, runDate: CalendarDate(year: 2026, month: 11, day: 21)!)
        var out: [RosterRecord] = []
        while let r = try reader.next() { out.append(r) }
        return out
    }

    /// The member the String rules make of one row's values (the reader's rules before MemberRow).
    static func reference(_ v: [String: String]) -> MemberRecord? {
        guard case .success(let ins) = InsurerNumber.validate(v["ins"]!), ins == "06139992",
              let sk = CardKeys.symbolKey(v["sym"]!), let nk = CardKeys.numberKey(v["num"]!), let br = CardKeys.branch(v["br"]!),
              case .success(let kana) = KanaName.normalise(v["kana"]!),
              case .success(let birth) = JapaneseDate.parse(v["birth"]!, styles: DateStyle.allCases),
              let sex = Sex.parse(v["sex"]!), let rel = Relationship.parse(v["rel"]!) else { return nil }
        func date(_ s: String) -> CalendarDate?? {
            if Normalise.isBlank(s) { return .some(nil) }
            guard case .success(let d) = JapaneseDate.parse(s, styles: DateStyle.allCases) else { return nil }
            return .some(d)
        }
        let runDate = CalendarDate(year: 2026, month: 11, day: 21)!
        guard birth <= runDate, let q = date(v["q"]!), let dq = date(v["dq"]!) else { return nil }
        if let q, let dq, dq < q { return nil }
        if let q, q < birth { return nil }
        var m = MemberRecord()
        m.insurerNumber = ins; m.symbol = Normalise.foldWidth(v["sym"]!); m.symbolKey = sk
        m.number = Normalise.removeSpaces(v["num"]!); m.numberKey = nk; m.branch = br
        m.kanaName = kana; m.kanaKey = KanaName.key(normalised: kana); m.kanjiName = Normalise.trim(v["kanji"]!)
        m.birthDate = birth.iso; m.sex = sex; m.relationship = rel.relationship; m.specialRetiree = rel.specialRetiree
        m.qualifiedDate = q?.iso ?? ""; m.disqualifiedDate = dq?.iso ?? ""
        m.status = MemberStatus.on(runDate, qualified: q, disqualified: dq)
        var former = ""
        if [v["fins"]!, v["fsym"]!, v["fnum"]!].contains(where: { !Normalise.isBlank($0) }) {
            guard case .success(let fi) = InsurerNumber.validate(v["fins"]!), let fs = CardKeys.symbolKey(v["fsym"]!),
                  let fn = CardKeys.numberKey(v["fnum"]!) else { return nil }
            former = ";\(fi):\(fs):\(fn)"
        }
        m.cardAliases = m.cardKey + former
        let folded = Normalise.foldWidth(v["zip"]!)
        let digits = folded.filter { $0.isASCII && $0.isNumber }
        m.postalCode = digits.count == 7 ? digits : folded
        let a1 = Normalise.trim(v["addr1"]!), a2 = Normalise.trim(v["addr2"]!)
        m.address = a2.isEmpty ? a1 : (a1.isEmpty ? a2 : a1 + " " + a2)
        m.memberRef = Normalise.foldWidth(v["ref"]!)
        return m
    }

    @Test func theReaderMakesWhatTheStringRulesMake() throws {
        var rows: [[String]] = [Self.good]
        for (column, value) in Self.variants {
            var row = Self.good
            row[Self.header.firstIndex(of: column)!] = value
            rows.append(row)
        }
        let records = try Self.read(Self.roster(rows))
        #expect(records.count == rows.count)
        var accepted = 0
        for (row, record) in zip(rows, records) {
            let values = Dictionary(uniqueKeysWithValues: zip(Self.header, row))
            let expected = Self.reference(values)
            switch record {
            case .accepted(let r, _):
                accepted += 1
                let m = r.member
                #expect(expected == m, "row \(row)")
                // Keys hashed from the bytes equal the record's.
                let n = r.normalised
                #expect(n.refKey == MasterIndex.Keys.ref(m.insurerNumber, m.memberRef))
                #expect(n.cardKey == MasterIndex.Keys.card(m.insurerNumber, m.symbolKey, m.numberKey))
                #expect(n.cardBranchKey == MasterIndex.Keys.cardBranch(m))
                #expect(n.cardKanaKey == MasterIndex.Keys.cardKana(m))
                #expect(n.cardBirthKey == MasterIndex.Keys.cardBirth(m))
                #expect(n.identityKey == MasterIndex.Keys.identity(m))
                #expect(n.sameCardPersonKey == MasterIndex.Keys.sameCardPerson(m))
                #expect(n.newPersonHash == EligibilityStage.newPersonHash(m))
                #expect(n.traits == PersonTraits(m), "row \(row)")
                // The members.csv row, with and without a person id.
                for id: UInt64? in [nil, 0x0123_4567_89AB_CDEF] {
                    var record = m
                    record.personID = id.map(StableHash.hex) ?? ""
                    var a: [UInt8] = [], b: [UInt8] = []
                    record.encodeCSV(into: &a)
                    n.encodeCSV(personID: id, into: &b)
                    #expect(a == b, "row \(row)")
                }
            case .rejected(let p, _, _, _):
                #expect(expected == nil || p.reason == .encodingInvalid, "row \(row) rejected: \(p.reason) \(p.detail)")
            }
        }
        #expect(accepted > rows.count / 2)
    }

    /// The same rows read from CP932 bytes (the hot path of legacy rosters), including bytes that
    /// are not CP932: the same members, and the same ENCODING_INVALID rejects as decoding Strings.
    @Test func cp932RowsReadAsTheirUTF8Twins() throws {
        let cp932Profile = Self.profileText.replacingOccurrences(of: "encoding = UTF-8", with: "encoding = CP932")
        let encoder = CP932Encoder()
        var rows: [[String]] = [Self.good]
        for (column, value) in Self.variants where encoder.encode(value).unencodable.isEmpty {
            var row = Self.good
            row[Self.header.firstIndex(of: column)!] = value
            rows.append(row)
        }
        let text = Self.roster(rows)
        let viaUTF8 = try Self.read(text)
        let viaCP932 = try Self.read(text, profileText: cp932Profile, encode: { encoder.encode($0).bytes })
        #expect(viaUTF8.count == viaCP932.count)
        for (a, b) in zip(viaUTF8, viaCP932) {
            switch (a, b) {
            case (.accepted(let x, _), .accepted(let y, _)): #expect(x.member == y.member)
            case (.rejected(let x, _, let kx, _), .rejected(let y, _, let ky, _)):
                #expect(x.reason == y.reason && x.detail == y.detail && kx == ky)
            default: Issue.record("\(a) vs \(b)")
            }
        }
        // Bytes that are not CP932 at the start of the kana name (ﾔﾏ → 0x85 0x40, an unassigned pair): rejected
        // with the byte and its offset.
        let records = try Self.read(Self.roster([Self.good]), profileText: cp932Profile, encode: { text in
            var b = encoder.encode(text).bytes
            let kana = encoder.encode("ﾔﾏﾀﾞ").bytes
            let k = b.indices.first { b[$0...].starts(with: kana) }!
            b.replaceSubrange(k..<(k + 2), with: [0x85, 0x40])
            return b
        })
        guard case .rejected(let p, _, _, _) = try #require(records.first) else { Issue.record("accepted"); return }
        #expect(p.reason == .encodingInvalid)
        #expect(p.detail == "column 'kana': byte 0x85 at offset 0 is not valid CP932")
    }

    /// The byte forms of the String rules, side by side over awkward values.
    @Test(arguments: [
        "", " ", "\t", "　", "ｶﾞｷﾞ", "ｳﾞ", "ﾜﾞ", "ｰ", "カ\u{3099}", "か゛", "ﾞ", "ヤマダ　ハナコ", "１２３４５６７８", "　12 34　",
        "S55.01.02", "昭和55年1月2日", "平成元年5月1日", "R元.5.1", "３５５０１０２", "\u{1B}[2J", "①", "Ⅱ", "東京", "ｱｲｳ･ｴｵ",
        "0012345678", "000", "abc", "ab c", "〒１２３－４５６７", "e\u{301}", "ｱ\u{85}", "ｷｮｳｺ", "ＡＢ－１", "1980/01/02 00:00:00",
    ])
    func byteRulesEqualStringRules(_ s: String) {
        func bytes(_ body: (UnsafeBufferPointer<UInt8>, inout [UInt8]) -> Bool) -> String? {
            var out: [UInt8] = [0x7C]  // something already in the buffer, as in a row
            let ok = Normalise.withUTF8(s) { body($0, &out) }
            return ok ? String(decoding: out.dropFirst(), as: UTF8.self) : nil
        }
        #expect(bytes { Normalise.foldWidth($0, into: &$1); return true } == Normalise.foldWidth(s))
        #expect(bytes { Normalise.removeSpaces($0, into: &$1); return true } == Normalise.removeSpaces(s))
        #expect(Normalise.withUTF8(s) { Normalise.isBlank($0) } == Normalise.isBlank(s))
        #expect(Normalise.withUTF8(s) { String(decoding: UnsafeBufferPointer(rebasing: $0[Normalise.trimmedRange($0)]), as: UTF8.self) } == Normalise.trim(s))
        #expect(bytes { CardKeys.numberKey($0, into: &$1) } == CardKeys.numberKey(s))
        #expect(bytes { CardKeys.symbolKey($0, into: &$1) } == CardKeys.symbolKey(s))
        #expect(bytes { CardKeys.branch($0, into: &$1) } == CardKeys.branch(s))
        #expect(bytes { KanaName.normalise($0, into: &$1) == nil } == (try? KanaName.normalise(s).get()))
        #expect(bytes { RosterReader.postalCode($0, into: &$1); return true } == RosterReader.postalCode(s))
        #expect(Normalise.withUTF8(s) { JapaneseDate.parse($0) } == JapaneseDate.parse(s))
        if case .success(let kana) = KanaName.normalise(s) {
            var out = Array("x".utf8) + Array(kana.utf8)
            KanaName.appendKey(ofNormalisedAt: 1..<out.count, in: &out)
            #expect(String(decoding: out[(1 + kana.utf8.count)...], as: UTF8.self) == KanaName.key(normalised: kana))
        }
    }

    @Test func cp932AppendingDecodeEqualsTheStringDecode() {
        let decoder = CP932Decoder()
        let inputs: [[UInt8]] = [[], [0x41], [0xB6, 0xDE], [0x82, 0xA0, 0x82], [0x87, 0x40, 0xFA, 0x40], [0x85, 0x40], [0x41, 0xFF], [0x5C, 0x81, 0x60]]
        for input in inputs {
            var out: [UInt8] = [0x7C]
            let failure = input.withUnsafeBytes { decoder.decode($0, appendingTo: &out) }
            switch decoder.decode(input) {
            case .success(let s): #expect(failure == nil && Array(out.dropFirst()) == Array(s.utf8), "\(input)")
            case .failure(let f): #expect(failure == f && out == [0x7C], "\(input)")
            }
        }
    }

    /// A UTF-8 roster's field is taken exactly when the standard library takes it as UTF-8; a refused
    /// one names its first bad byte.
    @Test(arguments: [
        [0x41, 0xE3, 0x81, 0x82] as [UInt8], [0xF0, 0x9F, 0x98, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],   // valid
        [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],            // overlong, surrogate, > U+10FFFF
        [0x41, 0xE3, 0x81], [0xE3, 0x41, 0x82], [0x80], [0xFF], [0x41, 0x42, 0xFE, 0x43],           // truncated, stray, invalid bytes
    ])
    func utf8FieldsAreTakenAsTheStandardLibraryValidatesThem(input: [UInt8]) {
        var out: [UInt8] = [0x7C]
        let failure = input.withUnsafeBytes { RosterReader.decode($0, decoder: nil, appendingTo: &out) }
        if String(validating: input, as: UTF8.self) != nil {
            #expect(failure == nil && Array(out.dropFirst()) == input)
        } else {
            let bad = failure.map { Array(input[..<$0.byteOffset]) }
            #expect(out == [0x7C] && bad.map { String(validating: $0, as: UTF8.self) != nil } == true, "\(String(describing: failure))")
            #expect(failure.map { $0.byteOffset < input.count && input[$0.byteOffset] == $0.byte } == true)
        }
    }
}

extension RosterBytePathTests {
    /// MemberRow keeps one slot per members.csv column (its inline tables are sized by hand).
    /// A branch as a person's trait: value + 1, 0 for none, and `.max` for digits that do not fit,
    /// never a trap (a branch of 4294967295 in members.csv once stopped every later run).
    @Test(arguments: [
        ("", UInt32(0)), ("0", 1), ("01", 2), ("99", 100), ("4294967293", 4294967294),
        ("4294967294", .max), ("4294967295", .max), ("99999999999", .max), ("1a", .max),
    ])
    func branchTrait(branch: String, expected: UInt32) {
        #expect(Normalise.withUTF8(branch) { PersonTraits.branch($0) } == expected)
        var m = MemberRecord()
        m.insurerNumber = "06139992"; m.branch = branch
        #expect(PersonTraits(m).branch == expected)
        // A previous master holding such a row is indexed, not trapped on.
        let index = MasterIndex()
        index.add(m, pid: 1)
        #expect(index.traits[1]?.branch == expected)
    }

    @Test func memberRowHasOneFieldPerMasterColumn() {
        #expect(MemberRow.Field.allCases.count == MemberRecord.header.count)
        #expect(MemberRow.Field.allCases.map(\.rawValue) == Array(0..<MemberRecord.header.count))
    }
}

extension RosterBytePathTests {
    /// The word-at-a-time test for bytes that force quoting, against a plain byte loop, with the
    /// byte at every position of the first words and in the tail.
    @Test func mayNeedQuotingFindsEverySpecialByte() {
        let plain = Array("06139992東京都千代田区ｶﾅ0123456789".utf8)
        #expect(!Self.mayNeedQuoting(plain))
        #expect(!Self.mayNeedQuoting([]))
        for special: UInt8 in [0x2C, 0x22, 0x0D, 0x0A, 0x09, 0x00, 0x1F] {
            for at in 0..<plain.count {
                var b = plain
                b[at] = special
                #expect(Self.mayNeedQuoting(b), "byte \(special) at \(at)")
            }
        }
        for near: UInt8 in [0x20, 0x21, 0x23, 0x2B, 0x2D, 0x7F, 0x80, 0xAC, 0xA2] {
            var b = plain
            b[3] = near; b[12] = near
            #expect(!Self.mayNeedQuoting(b), "byte \(near)")
        }
    }

    static func mayNeedQuoting(_ b: [UInt8]) -> Bool { b.withUnsafeBufferPointer { MemberRow.mayNeedQuoting($0) } }
}
