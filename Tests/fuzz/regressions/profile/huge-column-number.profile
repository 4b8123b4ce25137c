[insurer]
name = x
[file]
header = no
[columns]
insurer_number = 1
symbol = 2
number = 3
kana_name = 4
birth_date = 999999999999
