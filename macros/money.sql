{#
    Money arithmetic. Amounts are DECIMAL(18,4) holding a value rounded to the
    currency's minor units (0 to 4 decimal places); rounding is half away from
    zero. DuckDB rounds DECIMAL half away from zero, but DOUBLE is binary
    (round(1.005::double, 2) = 1.0), so every amount is made a DECIMAL first and
    no division is left to floating point.
#}

{# x rounded half away from zero to minor_units places, as DECIMAL(18,4).
   minor_units may be a literal or a column (0 to 4; anything else gives NULL). #}
{% macro round_money(x, minor_units) -%}
    {%- if minor_units is number -%}
    cast(round(cast({{ x }} as decimal(38, 10)), {{ minor_units }})
        as decimal(18, 4))
    {%- else -%}
    (case {{ minor_units }}
        {%- for places in [0, 1, 2, 3, 4] %}
        when {{ places }} then cast(
            round(cast({{ x }} as decimal(38, 10)), {{ places }})
            as decimal(18, 4))
        {%- endfor %}
    end)
    {%- endif -%}
{%- endmacro %}

{# The VAT contained in a VAT-inclusive price:
   round(price * rate / (100 + rate)) to the currency's minor units, half away
   from zero, as DECIMAL(18,4). Computed exactly in integers: the price in
   ten-thousandths, the rate in hundredths of a percent. In BIGINT where no
   product can overflow it (a price under a billion, a rate of 0 to 1000 %:
   every real one), else in HUGEINT, whose division costs twenty times as
   much; the two give the same result (tests/test_macros.py). NULL if any
   input is. #}
{% macro vat_from_gross(price, rate, currency_minor_units) -%}
    (case
        when {{ price }} is null or {{ rate }} is null
            or ({{ currency_minor_units }}) not between 0 and 4
            then null
        when abs({{ price }}) < 1000000000 and {{ rate }} between 0 and 1000
            then {{ vat_in_integers(price, rate, currency_minor_units, 'bigint') }}
        else {{ vat_in_integers(price, rate, currency_minor_units, 'hugeint') }}
    end)::decimal(18, 4)
{%- endmacro %}

{% macro vat_in_integers(price, rate, currency_minor_units, integer) -%}
    {%- set p = "cast(cast(" ~ price ~ " as decimal(38, 4)) * 10000 as " ~ integer ~ ")"
        if integer == 'hugeint' else
        "cast(cast(" ~ price ~ " as decimal(18, 4)) * 10000 as bigint)" -%}
    {%- set r = "cast(cast(" ~ rate ~ " as decimal(9, 4)) * 100 as " ~ integer ~ ")" -%}
    {%- set step = "cast(10 ^ (4 - (" ~ currency_minor_units ~ ")) as " ~ integer ~ ")" -%}
    cast(
            (case when {{ p }} < 0 then -1 else 1 end)
            * ((2 * abs({{ p }}) * {{ r }} + (10000 + {{ r }}) * {{ step }})
                // (2 * (10000 + {{ r }}) * {{ step }}))
            * {{ step }}
            as decimal(38, 0)) * 0.0001
{%- endmacro %}

{# A percentage share of an amount, rounded like money: round(amount * pct / 100).
   In BIGINT where the product cannot overflow it (an amount under a hundred
   million, a share of 0 to 100 %): the amount and the percentage in
   ten-thousandths, their product in units of 10^-10, rounded half away from
   zero to the minor units; else with round_money over DECIMAL(38). #}
{% macro share_of(amount, pct, minor_units) -%}
    {%- set product = "cast(" ~ amount ~ " as decimal(38, 4)) * cast("
        ~ pct ~ " as decimal(9, 4)) * 0.01" -%}
    {%- set a = "cast(cast(" ~ amount ~ " as decimal(18, 4)) * 10000 as bigint)" -%}
    {%- set q = "cast(cast(" ~ pct ~ " as decimal(9, 4)) * 10000 as bigint)" -%}
    {%- set step = "cast(10 ^ (10 - (" ~ minor_units ~ ")) as bigint)" -%}
    (case
        when {{ amount }} is null or {{ pct }} is null
            or ({{ minor_units }}) not between 0 and 4
            then null
        when abs({{ amount }}) < 100000000 and {{ pct }} between 0 and 100
            then cast(
                (case when {{ a }} * {{ q }} < 0 then -1 else 1 end)
                * ((2 * abs({{ a }} * {{ q }}) + {{ step }}) // (2 * {{ step }}))
                * ({{ step }} // 1000000)
                as decimal(18, 0)) * 0.0001
        else {{ round_money(product, minor_units) }}
    end)::decimal(18, 4)
{%- endmacro %}
