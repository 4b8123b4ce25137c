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
    case rosterHeldBack = "ROSTER_HELD_BACK"           // the insurer's roster is under half its previous size: not applied unless confirmed
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
    // Deletion of Mynaportal and uploaded data (kenpo delete).
    case deletionRequestInvalid = "DELETION_REQUEST_INVALID" // a deletion request row that cannot be read (request id, person id, requested_at) or repeats a request id
    case deletionPersonUnknown = "DELETION_PERSON_UNKNOWN"   // the deletion request's person id is nobody kenpo knows
    case deletedAtMemberRequest = "DELETED_AT_MEMBER_REQUEST" // import: this very member document was deleted at the member's request (tombstone)

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
        case .rosterHeldBack: return "the roster was held back: it has fewer than half the insurer's previous members (truncated hand-off?)"
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
        case .deletionRequestInvalid: return "the deletion request cannot be read"
        case .deletionPersonUnknown: return "the deletion request names a person kenpo does not know"
        case .deletedAtMemberRequest: return "the document was deleted at the member's request and is not imported again"
        }
    }
}
