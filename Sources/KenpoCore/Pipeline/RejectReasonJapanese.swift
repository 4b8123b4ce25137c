import Foundation

// The reasons in Japanese, for the files handed back to insurers (返戻ファイル, InsurerHandBack).
//
// Both switches are exhaustive on purpose: a new RejectReason (or RosterField) does not compile until
// it has its Japanese text here. Every text keeps to JIS X 0208 characters (plus ASCII), so a CP932
// hand-back file carries it unchanged — no 〓, no NEC/IBM extension characters, no 〜 (whose CP932
// round trip is ambiguous). InsurerHandBackTests checks both for every case.

extension RejectReason {
    /// The reason in Japanese, as the insurer reads it in its hand-back file.
    public var japaneseMessage: String {
        switch self {
        case .malformedRecord: return "CSVの形式が正しくありません（引用符の閉じ忘れなど）"
        case .columnCount: return "列の数が見出し行と一致しません"
        case .encodingInvalid: return "文字コードとして読めないバイトがあります"
        case .fieldMissing: return "必須項目が空です"
        case .insurerNumberInvalid: return "保険者番号が8桁の数字ではありません"
        case .insurerCheckDigit: return "保険者番号の検証番号が一致しません"
        case .insurerMismatch: return "保険者番号がこの保険者のものではありません"
        case .symbolInvalid: return "記号が読み取れません"
        case .numberInvalid: return "被保険者番号（番号）が数字ではありません"
        case .branchInvalid: return "枝番が数字ではありません"
        case .kanaInvalid: return "カナ氏名にカナ以外の文字があります"
        case .dateInvalid: return "日付が読み取れません（存在しない日付を含む）"
        case .birthAfterRunDate: return "生年月日が処理日より後です"
        case .qualificationOrder: return "資格取得日・資格喪失日・生年月日の前後関係が正しくありません"
        case .sexInvalid: return "性別が読み取れません"
        case .relationshipInvalid: return "本人・家族の区分が読み取れません"
        case .formerCardInvalid: return "特例退職被保険者の旧保険証（保険者番号・記号・番号）が読み取れません"
        case .duplicatePerson: return "同じ方が重複して記載されています"
        case .rosterHeldBack: return "名簿の件数が前回の半分未満のため、名簿全体を反映していません"
        case .malformedXML: return "XMLが途中で切れているか、形式が正しくありません"
        case .doctypeRefused: return "XMLにDOCTYPE宣言（DTD・実体参照）があるため受け付けられません"
        case .unknownDocument: return "取り込める形式のファイルではありません"
        case .documentIncomplete: return "必須の項目がないか、読み取れません"
        case .uploadTooLarge: return "アップロードされたファイルが10MBを超えています"
        case .archiveEntryRefused: return "ZIP内のファイルを安全に読み取れません"
        case .unknownPerson: return "保険証の情報に一致する加入者がいません"
        case .identityMismatch: return "本人以外の方のデータです"
        case .personNotEligible: return "処理日の時点で資格がありません（資格取得前・資格喪失・名簿に記載なし）"
        case .addressUnusable: return "郵便番号（7桁）または住所がはがきに使えません"
        case .addressNotPrintable: return "住所に印刷できない文字があります（代わりの文字もありません）"
        case .nameNotPrintable: return "氏名をはがきに印刷できません（印刷できない文字があるか、長すぎます）"
        case .requestInvalid: return "依頼の内容が読み取れません"
        case .deletionRequestInvalid: return "削除依頼の内容が読み取れません（依頼番号・個人ID・依頼日時）"
        case .deletionPersonUnknown: return "削除依頼の個人IDに一致する加入者がいません"
        case .deletedAtMemberRequest: return "ご本人の依頼により削除したデータのため、取り込みません"
        }
    }

    /// The reason in Japanese naming the field at fault, where the reason is about one of several
    /// fields (生年月日が読み取れません …); otherwise `japaneseMessage`.
    public func japaneseMessage(field: RosterField?) -> String {
        guard let field else { return japaneseMessage }
        let name = field.japaneseName
        switch self {
        case .fieldMissing: return "\(name)が空です"
        case .encodingInvalid: return "\(name)に文字コードとして読めないバイトがあります"
        case .dateInvalid: return "\(name)が読み取れません（存在しない日付を含む）"
        case .qualificationOrder:
            switch field {
            case .disqualifiedDate: return "資格喪失日が資格取得日より前です"
            case .qualifiedDate: return "資格取得日が生年月日より前です"
            default: return japaneseMessage
            }
        default: return japaneseMessage
        }
    }
}

extension RosterField {
    /// The field's usual Japanese name (the insurer's own column name may differ; hand-back files
    /// quote that one in their detail column).
    public var japaneseName: String {
        switch self {
        case .insurerNumber: return "保険者番号"
        case .symbol: return "記号"
        case .number: return "番号"
        case .branch: return "枝番"
        case .kanaName: return "カナ氏名"
        case .kanjiName: return "氏名"
        case .birthDate: return "生年月日"
        case .sex: return "性別"
        case .relationship: return "本人・家族の区分"
        case .qualifiedDate: return "資格取得日"
        case .disqualifiedDate: return "資格喪失日"
        case .memberRef: return "個人管理番号"
        case .postalCode: return "郵便番号"
        case .address: return "住所"
        case .address2: return "住所（方書）"
        case .formerInsurerNumber: return "旧保険者番号"
        case .formerSymbol: return "旧記号"
        case .formerNumber: return "旧番号"
        }
    }
}

extension MemberStatus {
    /// The status in Japanese, for hand-back details.
    public var japaneseName: String {
        switch self {
        case .active: return "資格あり"
        case .pending: return "資格取得前"
        case .disqualified: return "資格喪失"
        case .left: return "名簿に記載なし"
        }
    }
}
