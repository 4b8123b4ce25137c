import Foundation

/// Word lists for synthetic rosters. Every person the generator writes is an arbitrary combination
/// of a surname, a given name, a birth date and an address drawn from these lists: no real person.
///
/// The lists are chosen to exercise normalisation: readings with small kana (キョウコ, ショウタ), dakuten
/// and handakuten (ジュンペイ, ゴトウ), CP932-only NEC/IBM kanji (髙, 﨑), kanji whose CP932 second byte is
/// 0x5C (ソ, 表, 能, 十, 予 — the "backslash" trap), 々 and ヶ in surnames, hiragana given names, and
/// old/new character variants that share a reading (渡辺/渡邉/渡邊, 斎藤/齋藤/斉藤).
public enum SyntheticPeople {
    public struct Name: Sendable {
        public let kanji: String
        /// Full-width katakana reading.
        public let kana: String
        init(_ kanji: String, _ kana: String) { self.kanji = kanji; self.kana = kana }
    }

    public struct Place: Sendable {
        public let prefecture: String
        public let city: String
        public let towns: [String]
        /// First three digits of the (synthetic) postal codes used for this city.
        public let postalPrefix: Int
    }

    // MARK: surnames (≥80)

    public static let surnames: [Name] = [
        Name("佐藤", "サトウ"), Name("鈴木", "スズキ"), Name("高橋", "タカハシ"), Name("髙橋", "タカハシ"),
        Name("田中", "タナカ"), Name("伊藤", "イトウ"), Name("渡辺", "ワタナベ"), Name("渡邉", "ワタナベ"),
        Name("渡邊", "ワタナベ"), Name("山本", "ヤマモト"), Name("中村", "ナカムラ"), Name("小林", "コバヤシ"),
        Name("加藤", "カトウ"), Name("吉田", "ヨシダ"), Name("山田", "ヤマダ"), Name("佐々木", "ササキ"),
        Name("山口", "ヤマグチ"), Name("松本", "マツモト"), Name("井上", "イノウエ"), Name("木村", "キムラ"),
        Name("林", "ハヤシ"), Name("斎藤", "サイトウ"), Name("齋藤", "サイトウ"), Name("斉藤", "サイトウ"),
        Name("清水", "シミズ"), Name("山崎", "ヤマザキ"), Name("山﨑", "ヤマザキ"), Name("森", "モリ"),
        Name("池田", "イケダ"), Name("橋本", "ハシモト"), Name("阿部", "アベ"), Name("石川", "イシカワ"),
        Name("山下", "ヤマシタ"), Name("中島", "ナカジマ"), Name("石井", "イシイ"), Name("小川", "オガワ"),
        Name("前田", "マエダ"), Name("岡田", "オカダ"), Name("長谷川", "ハセガワ"), Name("藤田", "フジタ"),
        Name("後藤", "ゴトウ"), Name("近藤", "コンドウ"), Name("村上", "ムラカミ"), Name("遠藤", "エンドウ"),
        Name("青木", "アオキ"), Name("坂本", "サカモト"), Name("福田", "フクダ"), Name("太田", "オオタ"),
        Name("西村", "ニシムラ"), Name("藤井", "フジイ"), Name("岡本", "オカモト"), Name("松田", "マツダ"),
        Name("中川", "ナカガワ"), Name("中野", "ナカノ"), Name("原田", "ハラダ"), Name("小野", "オノ"),
        Name("田村", "タムラ"), Name("竹内", "タケウチ"), Name("金子", "カネコ"), Name("和田", "ワダ"),
        Name("中山", "ナカヤマ"), Name("石田", "イシダ"), Name("上田", "ウエダ"), Name("森田", "モリタ"),
        Name("原", "ハラ"), Name("柴田", "シバタ"), Name("酒井", "サカイ"), Name("工藤", "クドウ"),
        Name("横山", "ヨコヤマ"), Name("宮崎", "ミヤザキ"), Name("宮﨑", "ミヤザキ"), Name("宮本", "ミヤモト"),
        Name("内田", "ウチダ"), Name("高木", "タカギ"), Name("髙木", "タカギ"), Name("安藤", "アンドウ"),
        Name("谷口", "タニグチ"), Name("大野", "オオノ"), Name("丸山", "マルヤマ"), Name("今井", "イマイ"),
        Name("河野", "コウノ"), Name("大和田", "オオワダ"), Name("東海林", "ショウジ"), Name("服部", "ハットリ"),
        Name("別所", "ベッショ"), Name("八田", "ハッタ"), Name("北條", "ホウジョウ"), Name("十河", "ソゴウ"),
        Name("曽根", "ソネ"), Name("能登", "ノト"), Name("野々村", "ノノムラ"), Name("一ノ瀬", "イチノセ"),
        Name("神宮寺", "ジングウジ"), Name("五十嵐", "イガラシ"), Name("日下部", "クサカベ"), Name("芹澤", "セリザワ"),
        Name("吉川", "ヨシカワ"), Name("三ヶ島", "ミカシマ"), Name("表", "オモテ"), Name("予野", "ヨノ"),
        Name("比嘉", "ヒガ"), Name("新垣", "アラカキ"), Name("檜山", "ヒヤマ"), Name("濱田", "ハマダ"),
        Name("廣瀬", "ヒロセ"), Name("菅野", "カンノ"), Name("千葉", "チバ"), Name("照井", "テルイ"),
        Name("琴浦", "コトウラ"), Name("別府", "ベップ"), Name("一戸", "イチノヘ"), Name("新田", "ニッタ"),
    ]

    /// Surnames with a character CP932 cannot encode (𠮷, outside the BMP); used for UTF-8 profiles only.
    public static let utf8OnlySurnames: [Name] = [
        Name("𠮷田", "ヨシダ"), Name("𠮷川", "ヨシカワ"), Name("𠮷村", "ヨシムラ"),
    ]

    // MARK: given names (≥80 per sex)

    public static let maleGivenNames: [Name] = [
        Name("翔太", "ショウタ"), Name("健一", "ケンイチ"), Name("亮", "リョウ"), Name("潤", "ジュン"),
        Name("悠希", "ユウキ"), Name("大輔", "ダイスケ"), Name("拓也", "タクヤ"), Name("健太", "ケンタ"),
        Name("翔", "ショウ"), Name("蓮", "レン"), Name("陽翔", "ハルト"), Name("大翔", "ヒロト"),
        Name("悠真", "ユウマ"), Name("湊", "ミナト"), Name("樹", "イツキ"), Name("蒼", "アオイ"),
        Name("隼人", "ハヤト"), Name("颯太", "ソウタ"), Name("聡太", "ソウタ"), Name("宗介", "ソウスケ"),
        Name("純平", "ジュンペイ"), Name("慎平", "シンペイ"), Name("哲平", "テッペイ"), Name("一平", "イッペイ"),
        Name("恭平", "キョウヘイ"), Name("修", "オサム"), Name("誠", "マコト"), Name("浩", "ヒロシ"),
        Name("茂", "シゲル"), Name("勇", "イサム"), Name("清", "キヨシ"), Name("博", "ヒロシ"),
        Name("実", "ミノル"), Name("進", "ススム"), Name("武", "タケシ"), Name("隆", "タカシ"),
        Name("明", "アキラ"), Name("学", "マナブ"), Name("豊", "ユタカ"), Name("正樹", "マサキ"),
        Name("和也", "カズヤ"), Name("直樹", "ナオキ"), Name("達也", "タツヤ"), Name("雄一", "ユウイチ"),
        Name("浩二", "コウジ"), Name("健二", "ケンジ"), Name("誠一", "セイイチ"), Name("俊介", "シュンスケ"),
        Name("駿", "シュン"), Name("勝也", "カツヤ"), Name("秀樹", "ヒデキ"), Name("康弘", "ヤスヒロ"),
        Name("正人", "マサト"), Name("雅人", "マサト"), Name("拓海", "タクミ"), Name("匠", "タクミ"),
        Name("陸", "リク"), Name("海斗", "カイト"), Name("悠斗", "ユウト"), Name("優斗", "ユウト"),
        Name("蒼空", "ソラ"), Name("凌", "リョウ"), Name("涼太", "リョウタ"), Name("亮介", "リョウスケ"),
        Name("龍之介", "リュウノスケ"), Name("竜也", "タツヤ"), Name("祐介", "ユウスケ"), Name("雄大", "ユウダイ"),
        Name("周平", "シュウヘイ"), Name("修平", "シュウヘイ"), Name("啓介", "ケイスケ"), Name("圭", "ケイ"),
        Name("慶太", "ケイタ"), Name("航", "ワタル"), Name("渉", "ワタル"), Name("徹", "トオル"),
        Name("智也", "トモヤ"), Name("智之", "トモユキ"), Name("範之", "ノリユキ"), Name("功", "イサオ"),
        Name("譲二", "ジョウジ"), Name("琢磨", "タクマ"), Name("淳", "ジュン"), Name("純一", "ジュンイチ"),
        Name("貴之", "タカユキ"), Name("秀人", "ヒデト"), Name("十四郎", "トシロウ"), Name("宗一郎", "ソウイチロウ"),
        Name("晋作", "シンサク"), Name("丈", "ジョウ"), Name("ひなた", "ヒナタ"), Name("徳之助", "トクノスケ"),
    ]

    public static let femaleGivenNames: [Name] = [
        Name("恭子", "キョウコ"), Name("京子", "キョウコ"), Name("洋子", "ヨウコ"), Name("陽子", "ヨウコ"),
        Name("幸子", "サチコ"), Name("和子", "カズコ"), Name("節子", "セツコ"), Name("美智子", "ミチコ"),
        Name("裕子", "ユウコ"), Name("優子", "ユウコ"), Name("由美子", "ユミコ"), Name("久美子", "クミコ"),
        Name("真由美", "マユミ"), Name("直美", "ナオミ"), Name("明美", "アケミ"), Name("恵子", "ケイコ"),
        Name("順子", "ジュンコ"), Name("純子", "ジュンコ"), Name("智子", "トモコ"), Name("典子", "ノリコ"),
        Name("美穂", "ミホ"), Name("由紀", "ユキ"), Name("愛", "アイ"), Name("舞", "マイ"),
        Name("彩", "アヤ"), Name("綾香", "アヤカ"), Name("沙織", "サオリ"), Name("香織", "カオリ"),
        Name("麻衣", "マイ"), Name("千尋", "チヒロ"), Name("瞳", "ヒトミ"), Name("静香", "シズカ"),
        Name("美咲", "ミサキ"), Name("陽菜", "ヒナ"), Name("結衣", "ユイ"), Name("結菜", "ユイナ"),
        Name("葵", "アオイ"), Name("凛", "リン"), Name("芽依", "メイ"), Name("さくら", "サクラ"),
        Name("咲良", "サクラ"), Name("莉子", "リコ"), Name("美桜", "ミオ"), Name("杏", "アン"),
        Name("紬", "ツムギ"), Name("澪", "ミオ"), Name("心春", "コハル"), Name("楓", "カエデ"),
        Name("琴音", "コトネ"), Name("詩織", "シオリ"), Name("千夏", "チナツ"), Name("夏美", "ナツミ"),
        Name("晶子", "ショウコ"), Name("祥子", "ショウコ"), Name("翔子", "ショウコ"), Name("涼子", "リョウコ"),
        Name("良子", "リョウコ"), Name("紀子", "ノリコ"), Name("佳代", "カヨ"), Name("弥生", "ヤヨイ"),
        Name("小百合", "サユリ"), Name("百合子", "ユリコ"), Name("珠美", "タマミ"), Name("菜々子", "ナナコ"),
        Name("奈々", "ナナ"), Name("友梨", "ユリ"), Name("知佳", "チカ"), Name("恵美", "エミ"),
        Name("絵美", "エミ"), Name("亜希子", "アキコ"), Name("朱里", "アカリ"), Name("茜", "アカネ"),
        Name("萌", "モエ"), Name("優奈", "ユウナ"), Name("由衣", "ユイ"), Name("里奈", "リナ"),
        Name("紗希", "サキ"), Name("早紀", "サキ"), Name("真央", "マオ"), Name("未来", "ミク"),
        Name("美優", "ミユ"), Name("千代", "チヨ"), Name("千鶴", "チヅル"), Name("静江", "シズエ"),
        Name("文子", "フミコ"), Name("富美子", "フミコ"), Name("八重子", "ヤエコ"), Name("菊江", "キクエ"),
        Name("房子", "フサコ"), Name("みゆき", "ミユキ"), Name("ちひろ", "チヒロ"), Name("蘭", "ラン"),
        Name("十和子", "トワコ"), Name("里緒", "リオ"), Name("美紀", "ミキ"), Name("純", "ジュン"),
    ]

    // MARK: addresses (real place names, synthetic postal codes and block numbers)

    public static let places: [Place] = [
        Place(prefecture: "北海道", city: "札幌市中央区", towns: ["大通西", "南一条西", "北五条西"], postalPrefix: 60),
        Place(prefecture: "北海道", city: "旭川市", towns: ["神楽", "東光", "春光"], postalPrefix: 78),
        Place(prefecture: "宮城県", city: "仙台市青葉区", towns: ["一番町", "国分町", "上杉"], postalPrefix: 980),
        Place(prefecture: "福島県", city: "郡山市", towns: ["駅前", "堂前町", "虎丸町"], postalPrefix: 963),
        Place(prefecture: "東京都", city: "新宿区", towns: ["西新宿", "高田馬場", "神楽坂"], postalPrefix: 160),
        Place(prefecture: "東京都", city: "港区", towns: ["芝公園", "南青山", "高輪"], postalPrefix: 105),
        Place(prefecture: "東京都", city: "世田谷区", towns: ["三軒茶屋", "成城", "等々力"], postalPrefix: 154),
        Place(prefecture: "東京都", city: "八王子市", towns: ["旭町", "南大沢", "高尾町"], postalPrefix: 192),
        Place(prefecture: "神奈川県", city: "横浜市港北区", towns: ["日吉", "新横浜", "綱島西"], postalPrefix: 222),
        Place(prefecture: "神奈川県", city: "川崎市中原区", towns: ["小杉町", "木月", "上丸子"], postalPrefix: 211),
        Place(prefecture: "千葉県", city: "船橋市", towns: ["本町", "夏見", "習志野台"], postalPrefix: 273),
        Place(prefecture: "埼玉県", city: "さいたま市浦和区", towns: ["高砂", "常盤", "岸町"], postalPrefix: 330),
        Place(prefecture: "新潟県", city: "十日町市", towns: ["本町", "高田町", "四日町"], postalPrefix: 948),
        Place(prefecture: "長野県", city: "松本市", towns: ["中央", "深志", "城東"], postalPrefix: 390),
        Place(prefecture: "静岡県", city: "浜松市中央区", towns: ["鍛冶町", "砂山町", "佐鳴台"], postalPrefix: 430),
        Place(prefecture: "愛知県", city: "名古屋市中区", towns: ["栄", "錦", "大須"], postalPrefix: 460),
        Place(prefecture: "愛知県", city: "豊田市", towns: ["挙母町", "若宮町", "元城町"], postalPrefix: 471),
        Place(prefecture: "京都府", city: "京都市左京区", towns: ["下鴨松ノ木町", "北白川", "岡崎"], postalPrefix: 606),
        Place(prefecture: "大阪府", city: "大阪市北区", towns: ["梅田", "天神橋", "中之島"], postalPrefix: 530),
        Place(prefecture: "大阪府", city: "堺市堺区", towns: ["三国ヶ丘御幸通", "大浜北町", "宿院町東"], postalPrefix: 590),
        Place(prefecture: "兵庫県", city: "神戸市中央区", towns: ["三宮町", "元町通", "北野町"], postalPrefix: 650),
        Place(prefecture: "広島県", city: "広島市中区", towns: ["紙屋町", "八丁堀", "大手町"], postalPrefix: 730),
        Place(prefecture: "香川県", city: "高松市", towns: ["丸亀町", "番町", "屋島西町"], postalPrefix: 760),
        Place(prefecture: "福岡県", city: "福岡市博多区", towns: ["博多駅前", "中洲", "住吉"], postalPrefix: 812),
        Place(prefecture: "熊本県", city: "熊本市中央区", towns: ["手取本町", "水前寺", "上通町"], postalPrefix: 860),
        Place(prefecture: "沖縄県", city: "那覇市", towns: ["久茂地", "おもろまち", "首里当蔵町"], postalPrefix: 900),
    ]

    /// Building names for address line 2.
    public static let buildings: [String] = [
        "メゾン桜", "コーポ山田", "ハイツ緑ヶ丘", "グランドパレス", "サンハイツ", "レジデンス表参道",
        "ヴィラ青葉", "パークハウス", "ライオンズマンション", "第２松本ビル", "シャトー・ド・ミディ",
        "ソレイユ十番館", "アーバンコート", "ベルメゾン", "リバーサイド能見台", "ＫＴビル",
    ]

    /// Building names that need CSV quoting (a comma, a double quote); used now and then.
    public static let buildingsNeedingQuotes: [String] = ["パークハウス,西棟", "メゾン\"桜坂\"", "ヴィラ・ソレイユ,Ａ棟"]

    /// Words that begin a kanji-and-digits card symbol (記号): office, plant, branch names.
    public static let symbolWords: [String] = [
        "本社", "東京", "大阪", "名古屋", "福岡", "札幌", "仙台", "広島", "横浜", "京都", "神戸", "千葉",
        "営業", "工場", "支店", "研究所", "関西", "九州",
    ]

    /// Every string in these lists, for encoding checks.
    public static var allStrings: [String] {
        var out: [String] = []
        for n in surnames + maleGivenNames + femaleGivenNames { out.append(n.kanji); out.append(n.kana) }
        for p in places { out.append(p.prefecture); out.append(p.city); out.append(contentsOf: p.towns) }
        out.append(contentsOf: buildings)
        out.append(contentsOf: buildingsNeedingQuotes)
        out.append(contentsOf: symbolWords)
        return out
    }
}
