# Insurer profile: つばめ健康保険組合 (synthetic sample insurer)
# A newer system's export: UTF-8 with BOM, CRLF, full-width kana, Western dates, and the
# insurer's own member reference, which keeps a person's id stable when their card changes.
# Format: see pipelines/README.md.

[insurer]
name = sample-tsubame
display_name = つばめ健康保険組合
insurer_number = 06279996

[file]
encoding = UTF-8
header = yes
line_ending = CRLF
half_width_kana = no
date_style = yyyymmdd, iso

[columns]
member_ref = 個人管理番号
insurer_number = 保険者番号
symbol = 被保険者証記号
number = 被保険者証番号
branch = 枝番
kana_name = 氏名カナ
kanji_name = 氏名
birth_date = 生年月日
sex = 性別
relationship = 本人家族
qualified_date = 資格取得年月日
disqualified_date = 資格喪失年月日
postal_code = 郵便番号
address = 住所

[values.sex]
男 = M
女 = F
