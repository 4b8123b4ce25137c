[insurer]
name = x
[file]
date_style = ,
[columns]
insurer_number = a
symbol = b
number = c
kana_name = d
birth_date = e
