"""The PACS tables and columns TerraFusion reads, as PACS declares them (SQL Server types).

The column lists are `../shared/pacs/SCHEMA.md`'s (PACS has more columns; these are the ones we use), kept
here as PACS writes them and parsed once into `TABLES`. Everything PACS-shaped derives from them: the
unmanaged models of the `pacs` alias (ingestion/pacs/models.py), the fake PACS databases' DDL
(ingestion/pacs/fake.py), and the check of a county's pacs_mapping.yaml against the schema.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # SQL Server's: INT, NUMERIC, CHAR, VARCHAR, DATETIME, BIT, ROWVERSION, COMPUTED
    args: tuple[int, ...] = ()  # (precision, scale) or (length,)
    nullable: bool = True
    default: str | None = None  # as declared, e.g. "('1')"
    computed: str | None = None  # what a COMPUTED column computes, as SCHEMA.md says it

    @property
    def is_text(self) -> bool:
        return self.sql_type in ("CHAR", "VARCHAR")

    @property
    def is_integer(self) -> bool:
        return self.sql_type in ("INT", "SMALLINT", "ROWVERSION") or (self.sql_type == "NUMERIC" and self.scale == 0)

    @property
    def scale(self) -> int:
        return self.args[1] if len(self.args) > 1 else 0

    def declaration(self) -> str:
        args = f" ({', '.join(map(str, self.args))})" if self.args else ""
        return f"{self.name} {self.sql_type}{args}"


@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, Column]
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...] = ()


_COLUMN = re.compile(
    r"^(?P<name>\w+) (?P<type>[A-Z]+)(?: \((?P<args>[0-9, ]+)\))?(?: DEFAULT (?P<default>\S+))?"
    r"(?: (?P<null>NOT NULL|NULL))?(?: \((?P<computed>.*)\))?$"
)
_KEY = re.compile(r"^-- (?P<kind>PRIMARY KEY|UNIQUE)\b[^(]*\((?P<columns>.*)\)$")


def _parse(name: str, text: str) -> Table:
    columns, primary_key, unique = {}, (), []
    for line in text.strip().splitlines():
        key = _KEY.match(line)
        if key:
            names = tuple(re.findall(r"\[(\w+)\]", key["columns"]))
            if key["kind"] == "PRIMARY KEY":
                primary_key = names
            else:
                unique.append(names)
            continue
        match = _COLUMN.match(line)
        if match is None:
            raise ValueError(f"PACS schema, table {name}: cannot read {line!r}")
        args = tuple(int(a) for a in match["args"].split(",")) if match["args"] else ()
        computed = match["computed"] if match["type"] == "COMPUTED" else None
        columns[match["name"]] = Column(
            match["name"],
            match["type"],
            args,
            nullable=match["null"] != "NOT NULL" and match["type"] not in ("ROWVERSION",),
            default=match["default"],
            computed=computed,
        )
    return Table(name, columns, primary_key or (next(iter(columns)),), tuple(unique))


# As in SCHEMA.md ("Column lists"); pacs_system, a single row, has no declared key: `id` serves.
_DECLARED = {
    "prop_supp_assoc": """
prop_id INT NOT NULL
owner_tax_yr NUMERIC (4) NOT NULL
sup_num INT NOT NULL
-- PRIMARY KEY CLUSTERED ([owner_tax_yr] ASC, [sup_num] ASC, [prop_id] ASC)
-- UNIQUE NONCLUSTERED ([owner_tax_yr] ASC, [prop_id] ASC)
""",
    "pacs_year": """
tax_yr NUMERIC (4) NOT NULL
certification_dt DATETIME NULL
notice_dt DATETIME NULL
prev_reappraised_yr NUMERIC (4) NULL
assessment_certification_date DATETIME NULL
-- PRIMARY KEY CLUSTERED ([tax_yr] ASC)
""",
    "pacs_system": """
id INT NOT NULL
tax_yr NUMERIC (4) NOT NULL
appr_yr NUMERIC (4) NULL
""",
    "property": """
prop_id INT NOT NULL
prop_type_cd CHAR (5) NOT NULL
prop_create_dt DATETIME NULL
geo_id VARCHAR (50) NULL
zoning VARCHAR (50) NULL
state_cd CHAR (5) NULL
simple_geo_id VARCHAR (50) NULL
-- PRIMARY KEY CLUSTERED ([prop_id] ASC)
""",
    "property_val": """
prop_id INT NOT NULL
prop_val_yr NUMERIC (4) NOT NULL
land_hstd_val NUMERIC (14) NULL
land_non_hstd_val NUMERIC (14) NULL
imprv_hstd_val NUMERIC (14) NULL
imprv_non_hstd_val NUMERIC (14) NULL
appraised_val NUMERIC (14) NULL
assessed_val NUMERIC (14) NULL
market NUMERIC (14) NULL
ag_use_val NUMERIC (14) NULL
ag_market NUMERIC (14) NULL
ag_loss NUMERIC (14) NULL
timber_market NUMERIC (14) NULL
timber_use NUMERIC (14) NULL
timber_loss NUMERIC (14) NULL
sup_num INT NOT NULL
legal_desc VARCHAR (255) NULL
legal_desc_2 VARCHAR (255) NULL
legal_acreage NUMERIC (14, 4) NULL
prev_sup_num INT NULL
sup_cd CHAR (10) NULL
sup_desc VARCHAR (500) NULL
sup_dt DATETIME NULL
sup_action CHAR (1) NULL
prop_inactive_dt DATETIME NULL
abs_subdv_cd VARCHAR (10) NULL
hood_cd VARCHAR (10) NULL
block VARCHAR (50) NULL
tract_or_lot VARCHAR (50) NULL
rgn_cd VARCHAR (5) NULL
subset_cd VARCHAR (5) NULL
appr_method CHAR (5) NULL
last_appraiser_id INT NULL
property_use_cd VARCHAR (10) NULL
new_val_hs NUMERIC (14) NULL
new_val_nhs NUMERIC (14) NULL
udi_parent CHAR (1) NULL
udi_parent_prop_id INT NULL
tsRowVersion ROWVERSION NOT NULL
secondary_use_cd VARCHAR (10) NULL
cycle INT NULL
gis_real_coord_x NUMERIC (17, 9) NULL
gis_real_coord_y NUMERIC (17, 9) NULL
imprv_val COMPUTED (isnull([imprv_hstd_val],(0))+isnull([imprv_non_hstd_val],(0)))
township_code VARCHAR (20) NULL
range_code VARCHAR (20) NULL
-- PRIMARY KEY CLUSTERED ([prop_val_yr] ASC, [sup_num] ASC, [prop_id] ASC)
""",
    "owner": """
owner_id INT NOT NULL
owner_tax_yr NUMERIC (4) NOT NULL
prop_id INT NOT NULL
pct_ownership NUMERIC (13, 10) NULL
sup_num INT NOT NULL
hs_prop CHAR (1) NULL
-- PRIMARY KEY CLUSTERED ([owner_tax_yr] ASC, [sup_num] ASC, [prop_id] ASC, [owner_id] ASC)
""",
    "account": """
acct_id INT NOT NULL
first_name VARCHAR (30) NULL
last_name VARCHAR (30) NULL
file_as_name VARCHAR (70) NULL
acct_create_dt DATETIME NULL
-- PRIMARY KEY CLUSTERED ([acct_id] ASC)
""",
    "address": """
acct_id INT NOT NULL
addr_type_cd CHAR (5) NOT NULL
primary_addr CHAR (1) NULL
addr_line1 VARCHAR (60) NULL
addr_line2 VARCHAR (60) NULL
addr_line3 VARCHAR (60) NULL
addr_city VARCHAR (50) NULL
addr_state VARCHAR (50) NULL
country_cd CHAR (5) NULL
zip VARCHAR (5) NULL
-- PRIMARY KEY CLUSTERED ([acct_id] ASC, [addr_type_cd] ASC)
""",
    "situs": """
prop_id INT NOT NULL
situs_id INT NOT NULL
primary_situs CHAR (1) NULL
situs_num VARCHAR (15) NULL
situs_street_prefx VARCHAR (10) NULL
situs_street VARCHAR (50) NULL
situs_street_sufix VARCHAR (10) NULL
situs_unit VARCHAR (5) NULL
situs_city VARCHAR (30) NULL
situs_state CHAR (2) NULL
situs_zip VARCHAR (10) NULL
situs_display COMPUTED (situs_num + sub_num + prefix + street + suffix + unit + city/state/zip, trimmed)
building_num VARCHAR (15) NULL
sub_num VARCHAR (15) NULL
-- PRIMARY KEY CLUSTERED ([prop_id] ASC, [situs_id] ASC)
""",
    "land_detail": """
prop_id INT NOT NULL
prop_val_yr NUMERIC (4) NOT NULL
land_seg_id INT NOT NULL
sup_num INT NOT NULL
sale_id INT NOT NULL
land_type_cd CHAR (10) NOT NULL
state_cd CHAR (5) NOT NULL
size_acres NUMERIC (18, 4) NULL
size_square_feet NUMERIC (18, 2) NULL
effective_front NUMERIC (18, 2) NULL
effective_depth NUMERIC (18, 2) NULL
mkt_unit_price NUMERIC (14, 2) NULL
land_seg_mkt_val NUMERIC (14) NULL
ag_apply CHAR (1) NULL
ag_val NUMERIC (14) NULL
-- PRIMARY KEY CLUSTERED ([prop_val_yr] ASC, [sup_num] ASC, [sale_id] ASC, [prop_id] ASC, [land_seg_id] ASC)
""",
    "imprv": """
prop_id INT NOT NULL
prop_val_yr NUMERIC (4) NOT NULL
imprv_id INT NOT NULL
sup_num INT NOT NULL
sale_id INT NOT NULL
imprv_type_cd CHAR (5) NOT NULL
imprv_state_cd CHAR (5) NOT NULL
imprv_desc VARCHAR (255) NULL
imprv_val NUMERIC (14) NULL
effective_yr_blt NUMERIC (4) NULL
num_imprv INT NULL
stories VARCHAR (5) DEFAULT ('1') NOT NULL
actual_year_built NUMERIC (4) NULL
-- PRIMARY KEY CLUSTERED ([prop_val_yr] ASC, [sup_num] ASC, [sale_id] ASC, [prop_id] ASC, [imprv_id] ASC)
""",
    "imprv_detail": """
prop_id INT NOT NULL
prop_val_yr NUMERIC (4) NOT NULL
imprv_id INT NOT NULL
imprv_det_id INT NOT NULL
sup_num INT NOT NULL
sale_id INT NOT NULL
imprv_det_class_cd CHAR (10) NOT NULL
imprv_det_type_cd CHAR (10) NOT NULL
imprv_det_val NUMERIC (18) NULL
imprv_det_area NUMERIC (18, 1) NULL
condition_cd CHAR (5) NULL
yr_built NUMERIC (4) NULL
imprv_det_sub_class_cd VARCHAR (10) NULL
actual_age NUMERIC (4) NULL
-- PRIMARY KEY CLUSTERED ([prop_val_yr] ASC, [sup_num] ASC, [sale_id] ASC, [prop_id] ASC, [imprv_id] ASC, [imprv_det_id] ASC)
""",
    "imprv_attr": """
imprv_id INT NOT NULL
prop_id INT NOT NULL
imprv_det_id INT NOT NULL
imprv_attr_id INT NOT NULL
prop_val_yr NUMERIC (4) NOT NULL
sup_num INT NOT NULL
sale_id INT NOT NULL
i_attr_val_id INT NOT NULL
i_attr_val_cd VARCHAR (75) NOT NULL
imprv_attr_val NUMERIC (14) NULL
i_attr_unit NUMERIC (10, 2) NULL
i_attr_up NUMERIC (14, 2) NULL
i_attr_factor NUMERIC (5, 2) NULL
-- PRIMARY KEY CLUSTERED ([prop_val_yr] ASC, [sup_num] ASC, [sale_id] ASC, [prop_id] ASC, [imprv_id] ASC, [imprv_det_id] ASC, [imprv_attr_id] ASC, [i_attr_val_id] ASC)
""",
    "attribute": """
imprv_attr_id INT NOT NULL
imprv_attr_desc VARCHAR (50) NULL
sys_flag CHAR (1) NULL
cCompSalesAdjust CHAR (1) DEFAULT ('F') NOT NULL
bModifierFactor BIT DEFAULT (0) NOT NULL
bStoriesMultiplier BIT NULL
web_export BIT DEFAULT ((1)) NOT NULL
rc_type CHAR (1) NULL
inactive_flag BIT DEFAULT ((0)) NULL
-- PRIMARY KEY CLUSTERED ([imprv_attr_id] ASC)
""",
    "chg_of_owner": """
chg_of_owner_id INT NOT NULL
deed_type_cd CHAR (10) NULL
deed_num VARCHAR (50) NULL
deed_book_id CHAR (20) NULL
deed_book_page CHAR (20) NULL
deed_dt DATETIME NULL
coo_sl_dt DATETIME NULL
consideration CHAR (20) NULL
buyer_lttr_url VARCHAR (50) NULL
seller_lttr_url VARCHAR (50) NULL
buyer_lttr_prt_dt DATETIME NULL
seller_lttr_prt_dt DATETIME NULL
comment VARCHAR (500) NULL
ref_id1 VARCHAR (20) NULL
grantor_cv VARCHAR (30) NULL
grantee_cv VARCHAR (30) NULL
recorded_dt DATETIME NULL
coo_exported_flag CHAR (1) NULL
lttr_id INT NULL
print_buyer_letter BIT NULL
print_seller_letter BIT NULL
excise_number INT NULL
override_excise BIT DEFAULT ((0)) NOT NULL
-- PRIMARY KEY CLUSTERED ([chg_of_owner_id] ASC)
""",
    "chg_of_owner_prop_assoc": """
chg_of_owner_id INT NOT NULL
prop_id INT NOT NULL
seq_num INT NOT NULL
sup_tax_yr NUMERIC (4) NOT NULL
imprv_hstd_val NUMERIC (14) NULL
imprv_non_hstd_val NUMERIC (14) NULL
land_hstd_val NUMERIC (14) NULL
land_non_hstd_val NUMERIC (14) NULL
ag_use_val NUMERIC (14) NULL
ag_market NUMERIC (14) NULL
ag_loss NUMERIC (14) NULL
timber_use NUMERIC (14) NULL
timber_market NUMERIC (14) NULL
timber_loss NUMERIC (14) NULL
appraised_val NUMERIC (14) NULL
assessed_val NUMERIC (14) NULL
market NUMERIC (14) NULL
bPrimary BIT NULL
continue_current_use BIT NULL
-- PRIMARY KEY NONCLUSTERED ([chg_of_owner_id] ASC, [prop_id] ASC)
""",
    "sale": """
chg_of_owner_id INT NOT NULL
sl_financing_cd CHAR (5) NULL
sl_ratio_type_cd CHAR (5) NULL
sl_type_cd CHAR (5) NULL
sl_land_type_cd CHAR (10) NULL
sl_price NUMERIC (14) NULL
sl_dt DATETIME NULL
adjusted_sl_price NUMERIC (14) NULL
suppress_on_ratio_rpt_cd CHAR (5) NULL
sl_yr_blt NUMERIC (4) NULL
sl_living_area NUMERIC (14) NULL
sl_qualifier VARCHAR (10) NULL
sales_exclude_calc_cd VARCHAR (10) NULL
confidential_sale CHAR (1) NULL
frozen_characteristics CHAR (1) NULL
land_only_sale BIT NULL
sl_ratio_cd_reason VARCHAR (100) NULL
sl_county_ratio_cd VARCHAR (10) NULL
wac_cd VARCHAR (32) NULL
-- PRIMARY KEY CLUSTERED ([chg_of_owner_id] ASC)
""",
    "property_profile": """
prop_id INT NOT NULL
prop_val_yr NUMERIC (4) NOT NULL
state_cd VARCHAR (10) NULL
class_cd VARCHAR (10) NULL
yr_blt NUMERIC (4) NULL
living_area NUMERIC (14) NULL
land_sqft NUMERIC (18, 2) NULL
land_acres NUMERIC (18, 4) NULL
neighborhood VARCHAR (10) NULL
eff_yr_blt NUMERIC (4) NULL
condition_cd CHAR (5) NULL
num_imprv INT NULL
imprv_type_cd CHAR (5) NULL
imprv_det_sub_class_cd VARCHAR (10) NULL
-- PRIMARY KEY CLUSTERED ([prop_val_yr] ASC, [prop_id] ASC)
""",
    "neighborhood": """
hood_cd VARCHAR (10) NOT NULL
hood_yr NUMERIC (4) NOT NULL
hood_name VARCHAR (100) NULL
hood_land_pct NUMERIC (5, 2) NOT NULL
hood_imprv_pct NUMERIC (5, 2) NOT NULL
sys_flag CHAR (1) NULL
changed_flag CHAR (1) NULL
reappraisal_status VARCHAR (20) NULL
life_cycle VARCHAR (20) NULL
-- PRIMARY KEY CLUSTERED ([hood_cd] ASC, [hood_yr] ASC)
""",
    "property_exemption": """
prop_id INT NOT NULL
owner_id INT NOT NULL
exmpt_tax_yr NUMERIC (4) NOT NULL
owner_tax_yr NUMERIC (4) NOT NULL
exmpt_type_cd VARCHAR (10) NOT NULL
effective_dt DATETIME NULL
termination_dt DATETIME NULL
sup_num INT NOT NULL
exemption_pct NUMERIC (5, 2) NULL
-- PRIMARY KEY CLUSTERED ([exmpt_tax_yr] ASC, [owner_tax_yr] ASC, [sup_num] ASC, [prop_id] ASC, [owner_id] ASC, [exmpt_type_cd] ASC)
""",
    "exmpt_type": """
exmpt_type_cd VARCHAR (10) NOT NULL
exmpt_desc VARCHAR (50) NULL
federal_amt NUMERIC (14, 2) NULL
plus_oa65_amt NUMERIC (14, 2) NULL
spl_exmpt CHAR (1) NOT NULL
freeze_flag BIT NOT NULL
-- PRIMARY KEY CLUSTERED ([exmpt_type_cd] ASC)
""",
    "property_type": """
prop_type_cd CHAR (5) NOT NULL
prop_type_desc VARCHAR (50) NULL
-- PRIMARY KEY CLUSTERED ([prop_type_cd] ASC)
""",
    "property_use": """
property_use_cd VARCHAR (10) NOT NULL
property_use_desc VARCHAR (50) NOT NULL
dor_use_code VARCHAR (10) NULL
-- PRIMARY KEY CLUSTERED ([property_use_cd] ASC)
""",
    "sale_ratio_type": """
sl_ratio_type_cd CHAR (5) NOT NULL
sl_ratio_desc VARCHAR (30) NULL
invalid_sale BIT NULL
requires_reason BIT NULL
-- PRIMARY KEY CLUSTERED ([sl_ratio_type_cd] ASC)
""",
    "deed_type": """
deed_type_cd CHAR (10) NOT NULL
deed_type_desc VARCHAR (50) NULL
sys_flag CHAR (1) NULL
county_cd VARCHAR (10) NULL
sales_ratio_type_cd VARCHAR (5) NULL
-- PRIMARY KEY CLUSTERED ([deed_type_cd] ASC)
""",
}

TABLES: dict[str, Table] = {name: _parse(name, text) for name, text in _DECLARED.items()}
