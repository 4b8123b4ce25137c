import Foundation

/// Whether one insurer's roster of this run is short enough to be held back (資格名簿の件数チェック).
///
/// A roster with fewer than half as many rows as the insurer has members on its previous roster is
/// most likely a truncated hand-off; applying it would mark the missing half as having left. Such a
/// roster is held back — none of its rows are applied and the insurer's members stay as they were —
/// unless the operator confirms it (`kenpo eligibility --confirm-short-roster PROFILE`, or
/// `[eligibility] confirm_short_roster = PROFILE` in a pipeline).
///
/// - `previousMembers`: the insurer's members in the previous member master that are still on its
///   roster (status other than `left`: active, pending or disqualified) — exactly the people a
///   short roster would mark as left.
/// - `rows`: every row this run's rosters hold for the insurer, rejected rows included (a rejected row
///   still shows the hand-off is whole, and the member it stands for is kept anyway).
/// Insurers with fewer than `minimumPrevious` members are never held back: at that size a halving is
/// ordinary churn, not a sign of a truncated file.
public struct RosterSizeCheck: Equatable, Sendable {
    public static let minimumPrevious = 20

    public enum Verdict: Equatable, Sendable {
        /// Not short (or too small an insurer to judge): applied as usual.
        case apply
        /// Short and not confirmed: none of its rows are applied.
        case heldBack
        /// Short, but the operator confirmed it: applied (members missing from it leave), with a warning.
        case applyConfirmed
    }

    public var previousMembers: Int
    public var rows: Int
    public var confirmed: Bool

    public init(previousMembers: Int, rows: Int, confirmed: Bool) {
        self.previousMembers = previousMembers
        self.rows = rows
        self.confirmed = confirmed
    }

    /// Fewer than half the previous members' rows, for an insurer of at least `minimumPrevious`.
    public var isShort: Bool { previousMembers >= Self.minimumPrevious && rows * 2 < previousMembers }

    public var verdict: Verdict { !isShort ? .apply : confirmed ? .applyConfirmed : .heldBack }

    /// How an operator confirms the roster of these profiles.
    static func confirmHint(_ profiles: [String]) -> String {
        let p = profiles.isEmpty ? "PROFILE" : profiles.joined(separator: " ")
        let cli = profiles.isEmpty ? "--confirm-short-roster PROFILE" : profiles.map { "--confirm-short-roster \($0)" }.joined(separator: " ")
        return "if the roster really is this short, rerun with \(cli) (in a pipeline: [eligibility] confirm_short_roster = \(p))"
    }

    /// The English message of a held-back roster (log and rejects.csv).
    public func heldBackMessage(insurer: String, profiles: [String]) -> String {
        "insurer \(insurer) (\(profiles.joined(separator: ", "))): this run's roster holds \(rows) rows but the previous member master "
            + "has \(previousMembers) members on its roster — fewer than half, probably a truncated hand-off; the roster is held back "
            + "and every member of this insurer is kept as they were (nobody marked as left); " + Self.confirmHint(profiles)
    }

    /// The same for the insurer's hand-back file (JIS X 0208 characters only).
    public var heldBackJapanese: String {
        "今回の名簿は\(rows)件で、前回の加入者数\(previousMembers)名の半分未満です。ファイルが途中で切れている可能性があるため、"
            + "この名簿は反映していません（加入者の資格は前回のままです）。正しい名簿の場合はご連絡ください"
    }

    /// The warning logged when a short roster is applied because the operator confirmed it.
    public func confirmedMessage(insurer: String, profiles: [String]) -> String {
        "insurer \(insurer) (\(profiles.joined(separator: ", "))): this run's roster holds \(rows) rows, fewer than half of the "
            + "previous \(previousMembers) members; applied because the operator confirmed it (--confirm-short-roster): "
            + "members missing from it are marked as left"
    }
}
