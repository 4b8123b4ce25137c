import Foundation

/// A year of synthetic medical care for one person: the lines of their medical-cost notice
/// (医療費のお知らせ) and the dispensings behind their prescriptions, consistent with each other
/// (an outside-pharmacy dispensing appears as a 調剤 notice line of that pharmacy and month).
/// Institutions, pharmacies and drug codes are synthetic.
struct CareHistory {
    struct Notice {
        var year: Int
        var month: Int
        /// 入院, 外来, 歯科, 調剤, 訪問看護.
        var category: String
        var days: Int
        var institution: String
        var total: Int
        var insurer: Int
        var publicFunds: Int
        var counter: Int
    }

    struct DrugLine {
        var drug: Int
        var days: Int
    }

    struct Dispensing {
        var date: CalendarDate
        var prescriber: String
        /// nil: dispensed in the hospital (院内処方), no pharmacy and no 調剤 notice line.
        var pharmacy: String?
        var drugs: [DrugLine]
    }

    var notices: [Notice] = []
    var dispensings: [Dispensing] = []
}

struct Drug {
    let code: String
    let name: String
    let ingredient: String?
    let dose: String
    let unit: String
    let directions: String
    let days: Int
    /// Points per day supplied (for the pharmacy's 調剤 amount).
    let pointsPerDay: Int
}

enum CareCatalog {
    struct Institution {
        let name: String
        /// 0 internal medicine, 1 other clinic, 2 paediatrics, 3 hospital.
        let kind: Int
    }

    static let clinics: [Institution] = [
        Institution(name: "かもめ内科クリニック", kind: 0), Institution(name: "みなと内科・循環器科", kind: 0),
        Institution(name: "つばめ整形外科", kind: 1), Institution(name: "ひばり耳鼻咽喉科", kind: 1),
        Institution(name: "しらさぎ皮膚科クリニック", kind: 1), Institution(name: "さくら眼科", kind: 1),
        Institution(name: "みなと小児科医院", kind: 2),
        Institution(name: "北斗総合病院", kind: 3), Institution(name: "浪速市民病院", kind: 3),
    ]
    static let dentists = ["あおば歯科医院", "こもれび歯科クリニック", "ひまわりデンタルオフィス"]
    static let pharmacies = ["つばめ薬局", "かもめ調剤薬局　駅前店", "ひまわり薬局", "さくら薬局　本町店"]
    static let nursing = "訪問看護ステーションあおぞら"

    /// Chronic drugs by condition: blood pressure, lipids, diabetes, other.
    static let drugs: [Drug] = [
        // 0…2 blood pressure
        Drug(code: "620004422", name: "アムロジピン錠5mg", ingredient: "アムロジピンベシル酸塩", dose: "1", unit: "錠", directions: "1日1回朝食後", days: 28, pointsPerDay: 2),
        Drug(code: "622000101", name: "オルメサルタン錠20mg", ingredient: "オルメサルタン　メドキソミル", dose: "1", unit: "錠", directions: "1日1回朝食後", days: 28, pointsPerDay: 4),
        Drug(code: "2149039F1024", name: "テルミサルタン錠40mg", ingredient: "テルミサルタン", dose: "1", unit: "錠", directions: "1日1回朝食後", days: 30, pointsPerDay: 3),
        // 3…5 lipids
        Drug(code: "622000201", name: "ロスバスタチン錠2.5mg", ingredient: "ロスバスタチンカルシウム", dose: "1", unit: "錠", directions: "1日1回夕食後", days: 28, pointsPerDay: 2),
        Drug(code: "2189015F1020", name: "アトルバスタチン錠10mg", ingredient: "アトルバスタチンカルシウム水和物", dose: "1", unit: "錠", directions: "1日1回夕食後", days: 30, pointsPerDay: 3),
        Drug(code: "622000202", name: "エゼチミブ錠10mg", ingredient: "エゼチミブ", dose: "1", unit: "錠", directions: "1日1回朝食後", days: 28, pointsPerDay: 6),
        // 6…7 diabetes
        Drug(code: "610443047", name: "メトホルミン塩酸塩錠250mg", ingredient: "メトホルミン塩酸塩", dose: "2", unit: "錠", directions: "1日2回朝夕食後", days: 28, pointsPerDay: 2),
        Drug(code: "622000301", name: "シタグリプチン錠50mg", ingredient: "シタグリプチンリン酸塩水和物", dose: "1", unit: "錠", directions: "1日1回朝食後", days: 28, pointsPerDay: 9),
        // 8…9 other chronic
        Drug(code: "622000401", name: "フェブキソスタット錠20mg", ingredient: "フェブキソスタット", dose: "1", unit: "錠", directions: "1日1回朝食後", days: 28, pointsPerDay: 5),
        Drug(code: "622000501", name: "ランソプラゾールOD錠15mg", ingredient: "ランソプラゾール", dose: "1", unit: "錠", directions: "1日1回朝食後", days: 28, pointsPerDay: 2),
        // 10… acute, adults
        Drug(code: "620000601", name: "アセトアミノフェン錠200mg", ingredient: "アセトアミノフェン", dose: "2", unit: "錠", directions: "発熱時・疼痛時頓用", days: 5, pointsPerDay: 1),
        Drug(code: "622000602", name: "ロキソプロフェンナトリウム錠60mg", ingredient: "ロキソプロフェンナトリウム水和物", dose: "3", unit: "錠", directions: "1日3回毎食後", days: 5, pointsPerDay: 2),
        Drug(code: "620000603", name: "カルボシステイン錠500mg", ingredient: "L-カルボシステイン", dose: "3", unit: "錠", directions: "1日3回毎食後", days: 7, pointsPerDay: 2),
        Drug(code: "620000604", name: "アンブロキソール塩酸塩錠15mg", ingredient: "アンブロキソール塩酸塩", dose: "3", unit: "錠", directions: "1日3回毎食後", days: 7, pointsPerDay: 1),
        Drug(code: "622000605", name: "レボセチリジン塩酸塩錠5mg", ingredient: "レボセチリジン塩酸塩", dose: "1", unit: "錠", directions: "1日1回就寝前", days: 14, pointsPerDay: 3),
        Drug(code: "622000606", name: "フェキソフェナジン塩酸塩錠60mg", ingredient: "フェキソフェナジン塩酸塩", dose: "2", unit: "錠", directions: "1日2回朝夕食後", days: 14, pointsPerDay: 3),
        Drug(code: "620000607", name: "アモキシシリンカプセル250mg", ingredient: "アモキシシリン水和物", dose: "3", unit: "カプセル", directions: "1日3回毎食後", days: 5, pointsPerDay: 3),
        Drug(code: "620000608", name: "酸化マグネシウム錠330mg", ingredient: "酸化マグネシウム", dose: "3", unit: "錠", directions: "1日3回毎食後", days: 14, pointsPerDay: 1),
        Drug(code: "5200013D1030", name: "葛根湯エキス顆粒", ingredient: nil, dose: "7.5", unit: "g", directions: "1日3回毎食前", days: 5, pointsPerDay: 3),
        Drug(code: "620000610", name: "ヘパリン類似物質クリーム0.3%", ingredient: "ヘパリン類似物質", dose: "25", unit: "g", directions: "1日2回患部に塗布", days: 14, pointsPerDay: 4),
        Drug(code: "620000611", name: "ロキソプロフェンNaテープ100mg", ingredient: "ロキソプロフェンナトリウム水和物", dose: "1", unit: "枚", directions: "1日1回患部に貼付", days: 14, pointsPerDay: 2),
        Drug(code: "620000612", name: "ヒアルロン酸ナトリウム点眼液0.1%", ingredient: "精製ヒアルロン酸ナトリウム", dose: "5", unit: "mL", directions: "1回1滴1日4回点眼", days: 14, pointsPerDay: 1),
        // 22… children
        Drug(code: "620000613", name: "カルボシステインシロップ5%", ingredient: "L-カルボシステイン", dose: "6", unit: "mL", directions: "1日3回毎食後", days: 5, pointsPerDay: 1),
        Drug(code: "620000614", name: "アセトアミノフェン細粒20%", ingredient: "アセトアミノフェン", dose: "0.5", unit: "g", directions: "発熱時頓用", days: 3, pointsPerDay: 1),
        Drug(code: "620000615", name: "アモキシシリン細粒10%", ingredient: "アモキシシリン水和物", dose: "1.5", unit: "g", directions: "1日3回毎食後", days: 5, pointsPerDay: 2),
    ]
    static let acuteAdult = Array(10...21)
    static let acuteChild = [22, 23, 24, 14]
    /// Acute drugs by clinic kind: internal medicine, other clinic (skin/eye/ENT/orthopaedics).
    static let acuteByClinic: [String: [Int]] = [
        "つばめ整形外科": [11, 20, 10], "ひばり耳鼻咽喉科": [12, 13, 14, 15, 16], "しらさぎ皮膚科クリニック": [19, 14, 15],
        "さくら眼科": [21],
    ]
}

/// Draws a year of care for one person.
struct CareHistorySynthesizer {
    let runDate: CalendarDate

    func make(subject: HealthRecordSubject, rng: inout SeededRandom) -> CareHistory {
        var h = CareHistory()
        let age = ageOn(runDate, born: subject.birthDate)
        let rate = age < 6 ? 20 : (age >= 70 ? 20 : 30)
        let childSubsidy = age < 15 && rng.chance(0.8)
        // A public programme for some adults (e.g. 自立支援医療): the counter pays 10%, the programme the rest.
        let publicProgramme = age >= 15 && rng.chance(0.05)
        let runMonth = runDate.year * 12 + (runDate.month - 1)
        // Months index back from the month before the run month (0 = last month … 11).
        func month(_ back: Int) -> (Int, Int) {
            let m = runMonth - 1 - back
            return (m / 12, m % 12 + 1)
        }
        func dayIn(_ ym: (Int, Int)) -> CalendarDate {
            var d = CalendarDate(year: ym.0, month: ym.1, day: 1 + rng.below(28))!
            if (d.daysSinceEpoch + 4) % 7 == 0 { d = CalendarDate.fromDaysSinceEpoch(d.daysSinceEpoch + 1) }  // no Sundays
            return d
        }
        var lines: [(key: Int, line: CareHistory.Notice)] = []
        func addNotice(_ ym: (Int, Int), _ category: String, _ institution: String, days: Int, points: Int, inpatient: Bool = false) {
            let total = points * 10
            var copay = (total * rate + 500) / 1000 * 10
            if inpatient && age < 70 && total > 267_000 {
                copay = min(copay, 80_100 + (total - 267_000) / 100)  // high-cost care cap (区分ウ)
            }
            var publicFunds = 0, counter = copay
            if childSubsidy {
                publicFunds = copay; counter = 0
            } else if publicProgramme && (category == "外来" || category == "調剤") {
                counter = min(copay, (total * 10 + 500) / 1000 * 10)
                publicFunds = copay - counter
            }
            // One line per month, category and institution.
            let key = (ym.0 * 12 + ym.1) &* 31 &+ category.hashValueStable &* 7 &+ institution.hashValueStable
            if let i = lines.firstIndex(where: { $0.key == key && $0.line.institution == institution && $0.line.category == category }) {
                lines[i].line.days += days
                lines[i].line.total += total
                lines[i].line.publicFunds += publicFunds
                lines[i].line.counter += counter
                lines[i].line.insurer = lines[i].line.total - lines[i].line.publicFunds - lines[i].line.counter
            } else {
                lines.append((key, CareHistory.Notice(year: ym.0, month: ym.1, category: category, days: days,
                                                      institution: institution, total: total,
                                                      insurer: total - publicFunds - counter,
                                                      publicFunds: publicFunds, counter: counter)))
            }
        }
        func dispense(_ date: CalendarDate, _ prescriber: String, _ drugs: [CareHistory.DrugLine], inHospital: Bool) {
            var d = date
            let pharmacy = inHospital ? nil : CareCatalog.pharmacies[(prescriber.hashValueStable & 0xFFFF) % CareCatalog.pharmacies.count]
            // One dispensing per date, prescriber and pharmacy.
            while h.dispensings.contains(where: { $0.date == d && $0.prescriber == prescriber && $0.pharmacy == pharmacy }) {
                d = CalendarDate.fromDaysSinceEpoch(d.daysSinceEpoch + 1)
            }
            h.dispensings.append(CareHistory.Dispensing(date: d, prescriber: prescriber, pharmacy: pharmacy, drugs: drugs))
            if let pharmacy {
                var points = 120
                for l in drugs { points += CareCatalog.drugs[l.drug].pointsPerDay * l.days }
                addNotice((d.year, d.month), "調剤", pharmacy, days: 1, points: points)
            }
        }

        // Chronic care: a monthly visit with 28–30 days of medication.
        let chronicShare = age >= 40 ? min(0.12 + 0.012 * Double(age - 40), 0.6) : 0.03
        if rng.chance(chronicShare) {
            let clinic = CareCatalog.clinics[rng.below(2)].name
            var regimen: [Int] = []
            regimen.append(rng.below(3))
            if rng.chance(0.5) { regimen.append(3 + rng.below(3)) }
            if rng.chance(0.25) { regimen.append(6 + rng.below(2)) }
            if rng.chance(0.15) { regimen.append(8 + rng.below(2)) }
            let inHospital = rng.chance(0.1)
            let start = rng.below(4)
            for back in stride(from: 11 - start, through: 0, by: -1) where rng.chance(0.85) {
                let ym = month(back)
                let date = dayIn(ym)
                addNotice(ym, "外来", clinic, days: 1, points: 220 + rng.below(180) + (inHospital ? 300 : 0))
                dispense(date, clinic, regimen.map { CareHistory.DrugLine(drug: $0, days: CareCatalog.drugs[$0].days) },
                         inHospital: inHospital)
            }
        }

        // Acute visits.
        let acuteCount = age < 10 ? 3 + rng.below(6) : rng.weighted([25, 30, 25, 12, 8])
        for _ in 0..<acuteCount {
            let ym = month(rng.below(12))
            let date = dayIn(ym)
            let clinic: CareCatalog.Institution
            if age < 12 && rng.chance(0.8) {
                clinic = CareCatalog.clinics[6]
            } else {
                clinic = CareCatalog.clinics[[0, 2, 3, 4, 5, 7, 8][rng.weighted([30, 15, 15, 12, 10, 10, 8])]]
            }
            let days = rng.weighted([70, 22, 8]) + 1
            addNotice(ym, "外来", clinic.name, days: days, points: (75 + rng.below(400)) * days + (clinic.kind == 3 ? 250 : 0))
            if rng.chance(0.7) {
                let pool = age < 12 ? CareCatalog.acuteChild : (CareCatalog.acuteByClinic[clinic.name] ?? CareCatalog.acuteAdult)
                var drugs: [CareHistory.DrugLine] = []
                for _ in 0..<(1 + rng.weighted([40, 40, 20])) {
                    let k = rng.pick(pool)
                    if !drugs.contains(where: { $0.drug == k }) { drugs.append(.init(drug: k, days: CareCatalog.drugs[k].days)) }
                }
                dispense(date, clinic.name, drugs, inHospital: clinic.kind == 3 && rng.chance(0.3))
            }
        }

        // Dental care.
        if rng.chance(age < 6 ? 0.2 : 0.4) {
            let dentist = rng.pick(CareCatalog.dentists)
            let first = rng.below(12)
            for back in stride(from: first, through: max(0, first - rng.below(3)), by: -1) {
                let days = 1 + rng.below(3)
                addNotice(month(back), "歯科", dentist, days: days, points: (180 + rng.below(700)) * days)
            }
        }

        // A hospital stay, now and then.
        if rng.chance(age >= 60 ? 0.03 : 0.008) {
            let days = 3 + rng.below(18)
            addNotice(month(rng.below(12)), "入院", CareCatalog.clinics[7 + rng.below(2)].name, days: days,
                      points: (2_500 + rng.below(3_500)) * days, inpatient: true)
        }
        // Home nursing for the oldest.
        if age >= 70 && rng.chance(0.04) {
            for back in 0..<(1 + rng.below(4)) {
                let days = 4 + rng.below(6)
                addNotice(month(back), "訪問看護", CareCatalog.nursing, days: days, points: (800 + rng.below(400)) * days)
            }
        }

        h.notices = lines.map(\.line).sorted {
            ($0.year, $0.month, $0.category, $0.institution) < ($1.year, $1.month, $1.category, $1.institution)
        }
        h.dispensings.sort {
            ($0.date.daysSinceEpoch, $0.prescriber, $0.pharmacy ?? "") < ($1.date.daysSinceEpoch, $1.prescriber, $1.pharmacy ?? "")
        }
        return h
    }
}

extension String {
    /// FNV-1a of the UTF-8 bytes, truncated to a non-negative Int (stable across runs, unlike hashValue).
    var hashValueStable: Int { Int(truncatingIfNeeded: SeededRandom.fnv1a64(self) >> 2) }
}
