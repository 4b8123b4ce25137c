# Insurer profile: かもめ健康保険組合 (synthetic sample insurer)
# A legacy mainframe export: CP932, CRLF, half-width kana names, Japanese-era dates.
# Format: see pipelines/README.md.

[insurer]
name = sample-kamome
display_name = かもめ健康保険組合
insurer_number = 06139992

[file]
encoding = CP932
header = yes
line_ending = CRLF
half_width_kana = yes
# Birth dates arrive as 7-digit GYYMMDD (era code 1 明治 … 5 令和); qualification dates as 昭和55年1月2日
# or S55.01.02. The first style listed is the one the generator writes.
date_style = era-code, era-kanji, era-letter

[columns]
insurer_number = 保険者番号
symbol = 記号
number = 番号
branch = 枝番
kana_name = ｶﾅ氏名
kanji_name = 漢字氏名
sex = 性別
birth_date = 生年月日
relationship = 続柄区分
qualified_date = 資格取得日
disqualified_date = 資格喪失日
postal_code = 郵便番号
address = 住所1
address2 = 住所2
former_insurer_number = 旧保険者番号
former_symbol = 旧記号
former_number = 旧番号

[values.relationship]
# This insurer's own codes: 1 本人, 2 家族, 5 特例退職本人, 6 特例退職家族
1 = insured
2 = dependant
5 = special_retiree_insured
6 = special_retiree_dependant
