[insurer]
name = fuzz-numbered
insurer_number = 06139992
display_name = 番号で列を指す組合
[file]
encoding = Shift_JIS
header = no
date_style = auto, era-kanji
line_ending = LF
half_width_kana = no
[columns]
insurer_number = 1
symbol = 2
number = 3
branch = 4
kana_name = 5
birth_date = 6
sex = 7
qualified_date = 8
[values.sex]
1 = M
２ = F
[values.relationship]
本人 = insured
