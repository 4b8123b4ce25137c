#!/usr/bin/env python3
"""Writes the bundled health-record samples (synthetic people of samples/rosters, day 1).

    python3 samples/make-health-samples.py        # from the repository root

Every good checkup follows the MHLW hc08 V08 structure (validate with
xmllint --schema ../shared/reference/hc08-xsd/hc08_V08.xsd). The bad files are deliberately bad;
samples/health/expected-rejects.csv lists the reject each must produce.
"""
import gzip, io, os, shutil, zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "health")

def obs_pq(code, value, unit, interp=None, rng=None):
    s = f'<observation classCode="OBS" moodCode="EVN"><code code="{code}" codeSystem="1.2.392.200119.6.1005"/><value xsi:type="PQ" value="{value}" unit="{unit}"/>'
    if interp: s += f'<interpretationCode code="{interp}" codeSystem="2.16.840.1.113883.5.83"/>'
    if rng: s += f'<referenceRange><observationRange><value xsi:type="IVL_PQ"><low value="{rng[0]}" unit="{unit}"/><high value="{rng[1]}" unit="{unit}"/></value></observationRange></referenceRange>'
    return s + '</observation>'

def obs_cd(code, vtype, value, system):
    return f'<observation classCode="OBS" moodCode="EVN"><code code="{code}" codeSystem="1.2.392.200119.6.1005"/><value xsi:type="{vtype}" code="{value}" codeSystem="{system}"/></observation>'

def obs_st(code, text):
    return f'<observation classCode="OBS" moodCode="EVN"><code code="{code}" codeSystem="1.2.392.200119.6.1005"/><value xsi:type="ST">{text}</value></observation>'

def obs_nm(code):
    return f'<observation classCode="OBS" moodCode="EVN"><code code="{code}" codeSystem="1.2.392.200119.6.1005"/><value xsi:type="PQ" nullFlavor="NI"/></observation>'

def obs_nd(code):
    return f'<observation classCode="OBS" moodCode="EVN" negationInd="true"><code code="{code}" codeSystem="1.2.392.200119.6.1005"/></observation>'

def obs_over(code, value, unit, side):
    disp = "以上" if side == "H" else "以下"
    return (f'<observation classCode="OBS" moodCode="EVN"><code code="{code}" codeSystem="1.2.392.200119.6.1005"/>'
            f'<value xsi:type="PQ" value="{value}" unit="{unit}"/><value xsi:type="CD" code="{side}" codeSystem="2.16.840.1.113883.5.83" displayName="{disp}"/></observation>')

def group(*members):
    inner = "".join(f'<entryRelationship typeCode="COMP">{m}</entryRelationship>' for m in members)
    return f'<observation classCode="OBS" moodCode="EVN"><code nullFlavor="NA"/>{inner}</observation>'

def cda(p, checkup_date, file_date, institution, observations, encoding="UTF-8"):
    entries = "\n".join(f"          <entry>{o}</entry>" for o in observations)
    sex = "1" if p["sex"] == "M" else "2"
    return f'''<?xml version="1.0" encoding="{encoding}"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id nullFlavor="NI"/>
  <code code="10" codeSystem="1.2.392.200119.6.1001"/>
  <title>特定健康診査結果報告</title>
  <effectiveTime value="{file_date}"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget>
    <patientRole>
      <id root="1.2.392.200119.6.101" extension="{p["insurer"]}"/>
      <id root="1.2.392.200119.6.204" extension="{p["symbol"]}"/>
      <id root="1.2.392.200119.6.205" extension="{p["number"]}"/>
      <id root="1.2.392.200119.6.211" extension="{p["branch"]}"/>
      <patient>
        <name>{p["kana"]}</name>
        <administrativeGenderCode code="{sex}" codeSystem="1.2.392.200119.6.1104"/>
        <birthTime value="{p["birth"]}"/>
      </patient>
    </patientRole>
  </recordTarget>
  <author>
    <time value="{file_date}"/>
    <assignedAuthor>
      <id nullFlavor="NI"/>
      <representedOrganization>
        <id root="1.2.392.200119.6.102" extension="{institution[0]}"/>
        <name>{institution[1]}</name>
      </representedOrganization>
    </assignedAuthor>
  </author>
  <custodian>
    <assignedCustodian>
      <representedCustodianOrganization>
        <id root="1.2.392.200119.6.102" extension="{institution[0]}"/>
        <name>{institution[1]}</name>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <documentationOf>
    <serviceEvent>
      <code code="010" codeSystem="1.2.392.200119.6.1002" displayName="特定健診"/>
      <effectiveTime value="{checkup_date}"/>
    </serviceEvent>
  </documentationOf>
  <component>
    <structuredBody>
      <component>
        <section>
          <code code="01010" codeSystem="1.2.392.200119.6.1010"/>
          <title>検査・問診結果セクション</title>
          <text/>
{entries}
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>
'''

# Sample members (samples/rosters/*-day1.csv).
TARO = dict(insurer="06139992", symbol="1001", number="0012345678", branch="01", kana="ヤマダ タロウ", sex="M", birth="19780715")
KYOKO = dict(insurer="06139992", symbol="1001", number="0012345678", branch="00", kana="ﾔﾏﾀﾞ ｷｮｳｺ", sex="F", birth="19800102")
ICHIRO = dict(insurer="06139992", symbol="2002", number="345", branch="00", kana="スズキ イチロウ", sex="M", birth="19700310")
HARUTO = dict(insurer="06279996", symbol="ア12", number="0001234", branch="00", kana="サトウ ハルト", sex="M", birth="19900415")
MISAKI = dict(insurer="06279996", symbol="ア12", number="0001234", branch="01", kana="サトウ ミサキ", sex="F", birth="19920302")
TAKAHASHI = dict(insurer="06139992", symbol="8001", number="77", branch="00", kana="タカハシ ケンイチ", sex="M", birth="19500101")
NOBODY = dict(insurer="06139992", symbol="9999", number="1", branch="00", kana="ダレモ イナイ", sex="F", birth="19600606")
TAKAHASHI_PID = "1d18ed023e17ccd0"   # person id kenpo gives タカハシケンイチ (stable across runs)

KAMOME_CENTRE = ("1310000011", "かもめ健診センター")
TSUBAME_CLINIC = ("2710000021", "つばめ総合クリニック")

def full_checkup(u="mg/dl"):
    return [
        obs_pq("9N001000000000001", "170.2", "cm"),
        obs_pq("9N006000000000001", "72.4", "kg"),
        obs_pq("9N011000000000001", "25.0", "kg/m2", "H", ("18.5", "24.9")),
        group(obs_pq("9A751000000000001", "142", "mm[Hg]", "H"), obs_pq("9A752000000000001", "138", "mm[Hg]", "H")),
        group(obs_pq("9A761000000000001", "88", "mm[Hg]"), obs_pq("9A762000000000001", "84", "mm[Hg]")),
        obs_cd("9N141000000000011", "CD", "2", "1.2.392.200119.6.2104"),
        obs_pq("3F015000002327101", "162", u, "H", ("30", "149")),
        obs_pq("3F070000002327101", "48", u, None, ("40", "99")),
        obs_pq("3F077000002327101", "141", u, "H", ("60", "119")),
        obs_pq("3B035000002327201", "24", "U/L"),
        obs_pq("3B045000002327201", "31", "U/L", "H", ("0", "30")),
        obs_pq("3B090000002327101", "55", "U/L", "H", ("0", "50")),
        obs_pq("3D010000001926101", "108", u, "H", ("70", "99")),
        obs_pq("3D046000001906202", "5.6", "%", "H", ("4.6", "5.5")),
        obs_cd("1A020000000191111", "CO", "1", "1.2.392.200119.6.2102"),
        obs_cd("1A010000000191111", "CO", "2", "1.2.392.200119.6.2102"),
        obs_nd("3C015000002327101"),
        obs_st("9N511000000000049", "特定保健指導の対象です。"),
    ]

def insured(p):
    """The 被保険者 block both kenpo formats open with."""
    return f'''  <被保険者>
    <保険者番号>{p["insurer"]}</保険者番号>
    <記号>{p["symbol"]}</記号>
    <番号>{p["number"]}</番号>
    <枝番>{p["branch"]}</枝番>
    <カナ氏名>{p["kana"]}</カナ氏名>
    <生年月日>{p["birth"][:4]}-{p["birth"][4:6]}-{p["birth"][6:]}</生年月日>
  </被保険者>'''

def notices(p, items):
    rows = "".join(f'''
  <通知>
    <診療年月>{m}</診療年月>
    <診療区分>{k}</診療区分>
    <日数>{d}</日数>
    <医療機関等名称>{inst}</医療機関等名称>
    <医療費の総額>{t}</医療費の総額>
    <保険者の負担額>{i}</保険者の負担額>
    <その他の公費の負担額>0</その他の公費の負担額>
    <窓口相当負担額>{c}</窓口相当負担額>
  </通知>''' for (m, k, d, inst, t, i, c) in items)
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<医療費通知情報 xmlns="urn:kenpo:xml:cost-notice:1" 形式="kenpo-cost-notice" 版="1">
{insured(p)}{rows}
</医療費通知情報>
'''

def prescription(p):
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<薬剤情報 xmlns="urn:kenpo:xml:prescription:1" 形式="kenpo-prescription" 版="1">
{insured(p)}
  <調剤>
    <調剤年月日>2026-09-12</調剤年月日>
    <医療機関名称>かもめ内科クリニック</医療機関名称>
    <薬局名称>つばめ薬局</薬局名称>
    <医薬品>
      <医薬品コード>620004422</医薬品コード>
      <薬剤名>アムロジピン錠5mg</薬剤名>
      <成分名>アムロジピンベシル酸塩</成分名>
      <用量>1</用量>
      <単位>錠</単位>
      <用法>1日1回朝食後</用法>
      <日数>28</日数>
    </医薬品>
  </調剤>
</薬剤情報>
'''

def write(rel, data, bom=False):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(path, "wb") as f:
        f.write((b"\xef\xbb\xbf" if bom else b"") + data)

def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    # Insurer hand-over: an MHLW transfer ZIP with three checkups.
    docs = {
        "DATA/h0613999220260901000001.xml": cda(TARO, "20260901", "20260915", KAMOME_CENTRE, full_checkup()),
        "DATA/h0613999220260902000002.xml": cda(KYOKO, "20260902", "20260915", KAMOME_CENTRE, full_checkup("mg/dL")),
        "DATA/h0613999220260903000003.xml": cda(ICHIRO, "20260903", "20260915", KAMOME_CENTRE,
            [obs_over("3F015000002327101", "2000", "mg/dl", "H"), obs_nm("3B035000002327201"), obs_pq("9N001000000000001", "165.0", "cm")]),
    }
    index = ('<?xml version="1.0" encoding="UTF-8"?>\n<index xmlns="http://tokuteikenshin.jp/checkup/2007">\n'
             '  <interactionType code="6"/>\n  <creationTime value="20260915"/>\n'
             '  <sender>\n    <id root="1.2.392.200119.6.102" extension="1310000011"/>\n  </sender>\n'
             '  <receiver>\n    <id root="1.2.392.200119.6.101" extension="06139992"/>\n  </receiver>\n'
             '  <serviceEventType code="1"/>\n  <totalRecordCount value="3"/>\n</index>\n')
    summary = ('<?xml version="1.0" encoding="UTF-8"?>\n<summary xmlns="http://tokuteikenshin.jp/checkup/2007">\n'
               '  <serviceEventType code="1"/>\n  <totalSubjectCount value="3"/>\n  <totalCostAmount value="27000"/>\n'
               '  <totalPaymentAmount value="0"/>\n  <totalClaimAmount value="27000"/>\n</summary>\n')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for d in ["CLAIMS/", "XSD/", "DATA/"]:
            z.writestr(zipfile.ZipInfo(d, (2026, 9, 15, 12, 0, 0)), b"")
        for name, text in list(docs.items()) + [("ix08_V08.xml", index), ("su08_V08.xml", summary)]:
            z.writestr(zipfile.ZipInfo(name, (2026, 9, 15, 12, 0, 0)), text.encode("utf-8"), zipfile.ZIP_DEFLATED)
    write("insurer/kamome-transfer-20260915.zip", buf.getvalue())
    # A single checkup with a UTF-8 BOM, one declaring Shift_JIS (written in CP932, with ① only CP932 has).
    write("insurer/tsubame-checkup-haruto.xml", cda(HARUTO, "20261002", "20261010", TSUBAME_CLINIC, full_checkup()), bom=True)
    sjis = cda(MISAKI, "20261003", "20261010", TSUBAME_CLINIC,
               [obs_pq("9N001000000000001", "158.3", "cm"), obs_st("9N511000000000049", "所見①：異常なし～経過観察不要")], encoding="Shift_JIS")
    write("insurer/tsubame-checkup-misaki-sjis.xml", sjis.encode("cp932"))
    write("insurer/checkup-for-nobody.xml", cda(NOBODY, "20261004", "20261010", TSUBAME_CLINIC, [obs_pq("9N001000000000001", "150.0", "cm")]))
    # Mynaportal pulls for タカハシケンイチ.
    write("mynaportal/takahashi-cost-notices.xml", notices(TAKAHASHI, [
        ("2026-08", "外来", 2, "かもめ内科クリニック", "78,040", "54,628", "23,412"),
        ("2026-08", "調剤", 1, "つばめ薬局", "3,210", "2,247", "963")]))
    write("mynaportal/takahashi-prescriptions.xml", prescription(TAKAHASHI))
    # Member uploads in タカハシケンイチ's folder: his own checkup; someone else's; a file over 10 MB once inflated.
    write(f"import/{TAKAHASHI_PID}/my-checkup-2025.xml", cda(TAKAHASHI, "20251105", "20251120", KAMOME_CENTRE, full_checkup()))
    write(f"import/{TAKAHASHI_PID}/someone-elses-checkup.xml", cda(TARO, "20250601", "20250610", KAMOME_CENTRE, full_checkup()))
    big = notices(TAKAHASHI, [("2026-07", "外来", 1, "かもめ内科クリニック", "1,000", "700", "300")]).replace(
        "</医療費通知情報>", ("<!--" + " " * (512 * 1024) + "-->\n") * 22 + "</医療費通知情報>")
    write(f"import/{TAKAHASHI_PID}/oversize-notices.xml.gz", gzip.compress(big.encode("utf-8"), 9, mtime=0))
    # Hostile and broken files.
    good = cda(ICHIRO, "20261005", "20261010", KAMOME_CENTRE, full_checkup())
    write("insurer/bad/truncated-checkup.xml", good[: len(good) // 2])
    write("insurer/bad/billion-laughs.xml", '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
          ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
          ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n<lolz>&lol3;</lolz>\n')
    write("insurer/bad/external-entity.xml", '<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
          '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>\n')
    write("insurer/bad/not-a-health-record.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<invoice xmlns="urn:example:invoice"><total>100</total></invoice>\n')
    # What the import must reject, file by file.
    rejects = [
        (f"import/{TAKAHASHI_PID}/oversize-notices.xml.gz", "UPLOAD_TOO_LARGE"),
        (f"import/{TAKAHASHI_PID}/someone-elses-checkup.xml", "IDENTITY_MISMATCH"),
        ("insurer/bad/billion-laughs.xml", "XML_DOCTYPE_REFUSED"),
        ("insurer/bad/external-entity.xml", "XML_DOCTYPE_REFUSED"),
        ("insurer/bad/not-a-health-record.xml", "DOCUMENT_UNKNOWN"),
        ("insurer/bad/truncated-checkup.xml", "XML_MALFORMED"),
        ("insurer/checkup-for-nobody.xml", "PERSON_UNKNOWN"),
    ]
    write("expected-rejects.csv", "file,reason_code\r\n" + "".join(f"{f},{r}\r\n" for f, r in rejects))

if __name__ == "__main__":
    main()
