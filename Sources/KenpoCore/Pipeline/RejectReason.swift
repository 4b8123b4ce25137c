import Foundation

/// Why a record was not accepted. The raw value is a stable code that appears in rejects.csv and in
/// insurer hand-back files; the messages say what to fix.
public enum RejectReason: String, CaseIterable, Sendable {
    case malformedRecord = "MALFORMED_RECORD"          // CSV structure broken (unterminated quote …)
    case columnCount = "COLUMN_COUNT"                  // not as many columns as the header
    case encodingInvalid = "ENCODING_INVALID"          // bytes not valid in the file's encoding
    case fieldMissing = "FIELD_MISSING"                // a required field is empty
    case insurerNumberInvalid = "INSURER_NUMBER_INVALID" // not 8 digits
    case insurerCheckDigit = "INSURER_CHECK_DIGIT"     // check digit wrong
    case insurerMismatch = "INSURER_MISMATCH"          // row's insurer number is not the profile's
    case symbolInvalid = "SYMBOL_INVALID"              // 記号 unreadable
    case numberInvalid = "NUMBER_INVALID"              // 番号 not digits
    case branchInvalid = "BRANCH_INVALID"              // 枝番 not digits
    case kanaInvalid = "KANA_INVALID"                  // カナ氏名 holds non-kana characters
    case dateInvalid = "DATE_INVALID"                  // a date that cannot be read or does not exist
    case birthAfterRunDate = "BIRTH_AFTER_RUN_DATE"    // born after the run date
    case qualificationOrder = "QUALIFICATION_ORDER"    // 資格喪失日 before 資格取得日, or 資格取得日 before birth
    case sexInvalid = "SEX_INVALID"
    case relationshipInvalid = "RELATIONSHIP_INVALID"
    case formerCardInvalid = "FORMER_CARD_INVALID"     // 特例退職 former card unreadable or incomplete
    case duplicatePerson = "DUPLICATE_PERSON"          // the same person twice in one run's rosters
    // Health-record documents (import).
    case malformedXML = "XML_MALFORMED"                // truncated, not well-formed, or not readable in its encoding
    case doctypeRefused = "XML_DOCTYPE_REFUSED"        // a DOCTYPE (DTD, entities) in untrusted XML
    case unknownDocument = "DOCUMENT_UNKNOWN"          // root element/namespace of no format kenpo reads
    case documentIncomplete = "DOCUMENT_INCOMPLETE"    // a required part (card ids, date, institution …) missing or unreadable
    case uploadTooLarge = "UPLOAD_TOO_LARGE"           // a member upload above 10 MB
    case archiveEntryRefused = "ARCHIVE_ENTRY_REFUSED" // ZIP entry escaping its folder, symlink, encrypted, too large …
    case unknownPerson = "PERSON_UNKNOWN"              // the card details name nobody in the member master
    case identityMismatch = "IDENTITY_MISMATCH"        // a member upload for someone other than the uploader
    // Checkup-viewing codes and postcards.
    case personNotEligible = "PERSON_NOT_ELIGIBLE"     // in the master, but not active (pending, disqualified, left)
    case addressUnusable = "ADDRESS_UNUSABLE"          // postal code not 7 digits, empty address, or too long for the card
    case addressNotPrintable = "ADDRESS_NOT_PRINTABLE" // a character of the address CP932 cannot print, no substitute
    case nameNotPrintable = "NAME_NOT_PRINTABLE"       // a character of the name CP932 cannot print, no substitute; or too long
    case requestInvalid = "REQUEST_INVALID"            // a mailing-list row or reissue request that cannot be read (card, person id, ticket)

    /// A short English message; the record-specific detail is appended by the caller.
    public var summary: String {
        switch self {
        case .malformedRecord: return "the CSV record is malformed"
        case .columnCount: return "the row does not have as many columns as the header"
        case .encodingInvalid: return "the row holds bytes that are not valid in the file's encoding"
        case .fieldMissing: return "a required field is empty"
        case .insurerNumberInvalid: return "the insurer number is not 8 digits"
        case .insurerCheckDigit: return "the insurer number's check digit is wrong"
        case .insurerMismatch: return "the insurer number is not this profile's insurer"
        case .symbolInvalid: return "the card symbol (記号) cannot be read"
        case .numberInvalid: return "the card number (番号) must be digits"
        case .branchInvalid: return "the branch number (枝番) must be digits"
        case .kanaInvalid: return "the kana name must be katakana (or hiragana) only"
        case .dateInvalid: return "a date cannot be read or does not exist"
        case .birthAfterRunDate: return "the birth date is after the run date"
        case .qualificationOrder: return "the qualification dates are out of order"
        case .sexInvalid: return "the sex code cannot be read"
        case .relationshipInvalid: return "the insured/dependant code cannot be read"
        case .formerCardInvalid: return "the former card of a special retiree member cannot be read"
        case .duplicatePerson: return "the same person appears twice"
        case .malformedXML: return "the XML document is truncated or not well-formed"
        case .doctypeRefused: return "the XML document has a DOCTYPE (DTD or entities), which kenpo refuses"
        case .unknownDocument: return "the document is not a format kenpo reads"
        case .documentIncomplete: return "a required part of the document is missing or cannot be read"
        case .uploadTooLarge: return "a member upload is larger than 10 MB"
        case .archiveEntryRefused: return "the archive entry cannot be read safely"
        case .unknownPerson: return "the card details do not belong to anyone in the member master"
        case .identityMismatch: return "the document is for someone other than the member it arrived for"
        case .personNotEligible: return "the member is not eligible on the run date (not yet qualified, disqualified or left)"
        case .addressUnusable: return "the postal address cannot be used on a postcard"
        case .addressNotPrintable: return "the address holds a character the print file (CP932) cannot carry"
        case .nameNotPrintable: return "the name cannot be printed on the postcard"
        case .requestInvalid: return "the request cannot be read"
        }
    }

    /// The message in Japanese, for the insurer hand-back file (返戻).
    public var japanese: String {
        switch self {
        case .malformedRecord: return "CSVの形式が不正です（引用符の閉じ忘れなど）"
        case .columnCount: return "列数が見出し行と一致しません"
        case .encodingInvalid: return "文字コードとして読めないバイトがあります"
        case .fieldMissing: return "必須項目が空です"
        case .insurerNumberInvalid: return "保険者番号が8桁ではありません"
        case .insurerCheckDigit: return "保険者番号の検証番号が一致しません"
        case .insurerMismatch: return "保険者番号がこの保険者のものではありません"
        case .symbolInvalid: return "記号が読み取れません"
        case .numberInvalid: return "番号は数字で記入してください"
        case .branchInvalid: return "枝番は数字で記入してください"
        case .kanaInvalid: return "カナ氏名にカナ以外の文字があります"
        case .dateInvalid: return "日付が読み取れないか、存在しない日付です"
        case .birthAfterRunDate: return "生年月日が処理日より後です"
        case .qualificationOrder: return "資格取得日・資格喪失日の前後関係が不正です"
        case .sexInvalid: return "性別コードが読み取れません"
        case .relationshipInvalid: return "本人・家族区分が読み取れません"
        case .formerCardInvalid: return "特例退職者の旧保険証情報が読み取れません"
        case .duplicatePerson: return "同一人物が重複しています"
        case .malformedXML: return "XMLが途中で切れているか、形式が不正です"
        case .doctypeRefused: return "XMLにDOCTYPE宣言（DTD・実体）があるため受け付けません"
        case .unknownDocument: return "取り込める形式のファイルではありません"
        case .documentIncomplete: return "必須の項目がないか、読み取れません"
        case .uploadTooLarge: return "アップロードされたファイルが10MBを超えています"
        case .archiveEntryRefused: return "ZIP内のファイルを安全に読み取れません"
        case .unknownPerson: return "保険証情報に一致する加入者がいません"
        case .identityMismatch: return "本人以外のデータです"
        case .personNotEligible: return "処理日時点で資格がありません（資格取得前・資格喪失・脱退）"
        case .addressUnusable: return "郵便番号（7桁）または住所がはがきに使えません"
        case .addressNotPrintable: return "住所に印刷できない文字（CP932外・代替字なし）があります"
        case .nameNotPrintable: return "氏名がはがきに印刷できません（CP932外の文字、または長すぎます）"
        case .requestInvalid: return "依頼内容が読み取れません"
        }
    }
}
