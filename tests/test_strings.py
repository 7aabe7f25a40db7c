"""Unit tests of the strings family's pure helpers: long double arithmetic, GETRANGE's slice,
the LCS walk; and the type checks, which the conformance suite cannot reach yet (no other
family can create a key of another type)."""
import math
from fractions import Fraction
from types import SimpleNamespace

import pytest

from reference import longdouble
from reference.commands.strings import _range, lcs_table, lcs_walk
from reference.dispatch import WRONGTYPE, build_table, lookup, run
from reference.keyspace import Keyspace


# -- long double --------------------------------------------------------------------------

# (value held, increment, INCRBYFLOAT's reply), all from Redis 7.0.15 on x86-64.
CHECKED_ON_REDIS = [
    (b"0", b"10.5", b"10.5"),
    (b"10.5", b"0.1", b"10.6"),
    (b"0.1", b"0.2", b"0.3"),
    (b"10", b"-10.25", b"-0.25"),
    (b"0", b"1e30", b"1000000000000000000024696061952"),
    (b"0", b"0x1p-18", b"0.00000381469726562"),       # a tie at the 17th decimal: to even
    (b"0", b"0x3p-18", b"0.00001144409179688"),
    (b"0", b"5e-18", b"0"),
    (b"0", b"6e-18", b"0.00000000000000001"),
    (b"0", b"0.000000000000000015", b"0.00000000000000002"),
    (b"0", b"0.000000000000000025", b"0.00000000000000002"),
    (b"0", b"0.0000000000000000050000001", b"0.00000000000000001"),
    (b"0", b"1.23456789012345678901234", b"1.23456789012345679"),
    (b"0", b"123456789012345678901234", b"123456789012345678897152"),
    (b"9223372036854775807", b"1", b"9223372036854775808"),
    (b"-0", b"-0", b"0"),
    (b"0", b"-1e-30", b"0"),
    (b"0", b"0x1p-16445", b"0"),                        # the least subnormal
    (b"0", b"0x1.8p-16446", b"0"),                      # rounds up to it
    (b"0", b"0e99999999999", b"0"),
    (b"5.0e3", b"2.5e-3", b"5000.00249999999999995"),
    (b"0", b"0X.8P1", b"1"),
    (b"0", b"+0x10", b"16"),
    (b"0", b"1.e2", b"100"),
    (b"0", b"-.5", b"-0.5"),
    (b"3.0000000000000000001", b"0", b"3"),
    (b"0.30000000000000001", b"0", b"0.30000000000000001"),
    (b"0", b"12345678901234567890.123", b"12345678901234567890"),
    (b'-463e2', b'93243723336518496706', b'93243723336518450400'),
    (b'0x47253edc618187993p-72', b'425373532.91489742193790', b'425373532.9322669264220167'),
    (b'8477852.0', b'32300933.61999254337043', b'40778785.61999254336842569'),
    (b'532e-16', b'-0x1a9964aef012d0ea6p-32', b'-7140166383.0045937686227262'),
    (b'-0xf8d1fe1daff666589p17', b'-99351.8604776', b'-37600658183942722608431104'),
    (b'822795356.410', b'-70072.0', b'822725284.40999999997438863'),
    (b'6299227.1372802846048762305227', b'798e13', b'7980000006299227.13720703125'),
    (b'5449.1', b'-42176901094976474127', b'-42176901094976468680'),
    (b'30232046813770019503', b'60156060568266756168', b'90388107382036775672'),
    (b'20484941022.6750158357426', b'-0.79556300', b'20484941021.87945283576846123'),
    (b'769730.2254979417', b'-689165786.48547007915059293', b'-688396056.25997213745722547'),
    (b'-18068017341512868325', b'-6327.9', b'-18068017341512874653'),
    (b'1.62801652743', b'-145747512.687980006410', b'-145747511.05996347896871157'),
    (b'267897042.166173', b'-34441540772304101363', b'-34441540772036204322'),
    (b'-0x97b862eace1d7300fp-80', b'-792320.6372701039', b'-792320.63741479561463166'),
    (b'-757.7936840421785601088987', b'-17155681447707540463', b'-17155681447707541221'),
    (b'130e-16', b'287e-17', b'0.00000000000001587'),
    (b'-86183663242428549717', b'-4178601.0', b'-86183663242432728320'),
    (b'-76795279.1510', b'781880.4599396249', b'-76013398.69106037509482121'),
    (b'-89118715078129104124', b'9024176595119376126', b'-80094538483009728000'),
    (b'-99381262046515943103', b'494e-26', b'-99381262046515943104'),
    (b'30515564013334227018', b'922e29', b'92200000000030515564498942689280'),
    (b'9112538767579678552', b'370291.91066739615', b'9112538767580048844'),
    (b'26494776622508441082', b'45055467965970890902', b'71550244588479331984'),
    (b'-389e7', b'1.55217048298968230998', b'-3889999998.44782951707020402'),
    (b'16770654794675898236', b'39843897584625401095', b'56614552379301299332'),
    (b'676740.0583811377', b'9851.61', b'686591.66838113770000973'),
    (b'8158714.1517627', b'-713559.2448989009', b'7445154.90686379909993775'),
    (b'0x5e7dd5eedc0f727adp-6', b'-28210309406922813464', b'-26508101048541565818'),
    (b'331798.1250673428', b'-832390381940.923028', b'-832390050142.79796063899993896'),
    (b'988705125.901481624', b'-0.22700098', b'988705125.6744806439965032'),
    (b'-3507.8686657149491', b'-0xd131e2d48520235bcp-86', b'-3507.86866883219554003'),
    (b'7338513955.356287733660766418', b'0x622c91b83a417a0fep-32', b'33691922854.9972732812166214'),
    (b'-797.769', b'-73317139425379705301', b'-73317139425379706096'),
    (b'-0xa13f5bc90f55dad76p-65', b'-2927.8923705619440610679465', b'-2932.93135475831621206'),
    (b'184e-16', b'-93591574.7088955874923694', b'-93591574.70889558749331627'),
    (b'-27942645957544018470', b'-57.88034790245239', b'-27942645957544018528'),
    (b'54524736758845330726', b'-475e-10', b'54524736758845330728'),
    (b'0xdb8d0c65d1955bf31p14', b'-68314729516912452152', b'4147132261324026585546752'),
    (b'-4.46173749999385455', b'66154.4', b'66149.93826250000614664'),
    (b'100603.85497535835', b'-83033457982618117182', b'-83033457982618016584'),
    (b'838713.2', b'482e-21', b'838713.19999999999998863'),
    (b'60921396513426084580', b'75107217714391001701', b'136028614227817086288'),
    (b'-30680102400611212563', b'117549.94526758301', b'-30680102400611095014'),
    (b'-51321419312783130210', b'-320e12', b'-51321739312783130208'),
    (b'690521.1339901367', b'65438524086221434241', b'65438524086222124760'),
    (b'-206e-4', b'620e-6', b'-0.01998'),
    (b'53765465.17572100899866654', b'68e29', b'6800000000000000000195421011968'),
    (b'-943e21', b'33670225812443050468', b'-942966329774187556962304'),
    (b'-445e27', b'46098547755894623638', b'-444999999953901452253693214720'),
    (b'197e-4', b'-0xcb3bd4390212462acp-88', b'0.01969924289544295'),
    (b'12.854491596188041185450', b'239532.6718512578', b'239545.52634285398804082'),
    (b'83688235.96327557', b'-1.89008855965806933708', b'83688234.07318701034091646'),
    (b'0x8a19ddc1add248e6fp-9', b'82102479.157334242099258969', b'310975896193555222.375'),
    (b'-40.3591307659509920973', b'2.2223678', b'-38.1367629659509921'),
    (b'-74397783394349060641', b'882380.5812244206', b'-74397783394348178256'),
    (b'206e-5', b'0x933706a3518972e44p-3', b'21215909491623781832'),
    (b'641948.0736312012', b'409423.29921842995', b'1051371.37284963114996117'),
    (b'-0xaffa3601380b68be5p16', b'1781292.0', b'-13296475391580639649071104'),
    (b'-54228519672815741348', b'176.37105', b'-54228519672815741172'),
]


def incrbyfloat(held: bytes, increment: bytes) -> bytes | str:
    a, b = longdouble.parse(held), longdouble.parse(increment)
    if a is None or b is None:
        return "not a float"
    total = longdouble.add(a, b)
    return "nan or infinity" if isinstance(total, float) else longdouble.format_human(total)


@pytest.mark.parametrize("held, increment, reply", CHECKED_ON_REDIS)
def test_incrbyfloat_arithmetic_matches_redis(held, increment, reply):
    assert incrbyfloat(held, increment) == reply


def test_repeated_tenths_stay_short():
    value = Fraction(0)
    for step in range(1, 31):
        value = longdouble.parse(longdouble.format_human(longdouble.add(value, longdouble.parse(b"0.1"))))
        assert longdouble.format_human(value) == f"{step / 10:g}".encode()


@pytest.mark.parametrize("text", [
    b"", b" 1", b"\t1", b"1 ", b"1\x00", b"nan", b"-nan", b"NaN", b"1e", b"1e+", b"0x", b"0x.p1", b".", b"e5",
    b"1,5", b"--1", b"1.2.3", b"1e5000", b"-1e5000", b"1e-5000", b"0x1p-16446", b"1e-4951",
    b"1.18973149535723176509e+4932", b"0" * 5120, b"1e99999999999999999999", b"1e-99999999999999999999",
])
def test_parse_refuses_what_strtold_refuses(text):
    assert longdouble.parse(text) is None


@pytest.mark.parametrize("text, value", [
    (b"inf", math.inf), (b"-INF", -math.inf), (b"+Infinity", math.inf), (b"0", 0), (b"-0", 0),
    (b"0" * 5119, 0), (b"0.5", Fraction(1, 2)), (b"0x.8", Fraction(1, 2)), (b"1e2", 100),
    (b"3e-4951", Fraction(1, 2 ** 16445)), (b"1.18973149535723176502e+4932", (2 ** 64 - 1) * Fraction(2) ** 16320),
])
def test_parse_values(text, value):
    assert longdouble.parse(text) == value


def test_rounding_keeps_64_significant_bits_ties_to_even():
    one = Fraction(1)
    ulp = Fraction(1, 2 ** 63)                       # spacing of values in [1, 2)
    assert longdouble.round_to_long_double(one + ulp) == one + ulp
    assert longdouble.round_to_long_double(one + ulp / 2) == one            # tie: to even
    assert longdouble.round_to_long_double(one + 3 * ulp / 2) == one + 2 * ulp
    assert longdouble.round_to_long_double(-(one + ulp / 3)) == -one
    assert longdouble.round_to_long_double(Fraction(2) ** 16384) == math.inf
    assert longdouble.round_to_long_double(-(Fraction(2) ** 16384)) == -math.inf
    assert longdouble.round_to_long_double(Fraction(1, 2 ** 16446)) == 0     # half the least: to 0


def test_add_with_infinities():
    assert longdouble.add(math.inf, Fraction(1)) == math.inf
    assert math.isnan(longdouble.add(math.inf, -math.inf))
    assert longdouble.add((2 ** 64 - 1) * Fraction(2) ** 16320, (2 ** 64 - 1) * Fraction(2) ** 16320) == math.inf


def test_format_human():
    assert longdouble.format_human(Fraction(0)) == b"0"
    assert longdouble.format_human(Fraction(-1, 10 ** 30)) == b"0"
    assert longdouble.format_human(Fraction(-5, 2)) == b"-2.5"
    assert longdouble.format_human(Fraction(10 ** 5000)) == b"1" + b"0" * 5000
    assert longdouble.format_human(Fraction(1, 2 ** 18)) == b"0.00000381469726562"


# -- GETRANGE -----------------------------------------------------------------------------

@pytest.mark.parametrize("start, end, expected", [
    (0, -1, b"hello"), (-3, -1, b"llo"), (-1, -3, b""), (2, 1, b""), (10, 20, b""), (-100, -50, b"h"),
    (-100, 100, b"hello"), (4, -100, b""), (4, 4, b"o"), (5, 5, b""),
])
def test_range(start, end, expected):
    assert _range(b"hello", start, end) == expected
    assert _range(bytearray(b"hello"), start, end) == expected


def test_range_of_nothing():
    assert _range(b"", 0, -1) == b"" and _range(b"", -1, 0) == b""


# -- LCS ----------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, common, ranges", [
    (b"ohmytext", b"mynewtext", b"mytext", [((4, 7), (5, 8)), ((2, 3), (0, 1))]),
    (b"aabbaa", b"baaabaaaabbb", b"aabaa", [((4, 5), (7, 8)), ((3, 3), (4, 4)), ((0, 1), (1, 2))]),
    (b"acccbcac", b"abcaac", b"abcac", [((6, 7), (4, 5)), ((4, 5), (1, 2)), ((0, 0), (0, 0))]),
    (b"", b"abc", b"", []),
    (b"abc", b"xyz", b"", []),
])
def test_lcs_walk_breaks_ties_as_redis(a, b, common, ranges):
    table = lcs_table(a, b)
    assert table[len(a)][len(b)] == len(common)
    assert lcs_walk(a, b, table) == (common, ranges)


# -- type checks, through the handlers ------------------------------------------------------

class OtherType(list):
    """Stands in for a value of another family."""


@pytest.fixture
def client():
    keyspace = Keyspace(1)
    keyspace[0].data[b"other"] = OtherType()
    server = SimpleNamespace(config={"proto-max-bulk-len": 512 * 1024 * 1024}, keyspace=keyspace)
    return SimpleNamespace(db=keyspace[0], server=server)


@pytest.fixture(scope="module")
def table():
    return build_table()


@pytest.fixture
def call(table):
    def call(client, *words):
        """Run a command as the dispatcher would; an error comes back as its text."""
        argv = [w if isinstance(w, bytes) else str(w).encode() for w in words]
        return run(lookup(table, argv)[0], client, argv)
    return call


@pytest.mark.parametrize("command", [
    ("GET", "other"), ("GETDEL", "other"), ("GETEX", "other", "PERSIST"), ("GETEX", "other", "EX", "x"),
    ("GETSET", "other", "v"), ("SET", "other", "v", "GET"), ("SET", "other", "v", "NX", "GET"),
    ("STRLEN", "other"), ("GETRANGE", "other", 0, -1), ("SUBSTR", "other", 0, -1),
    ("APPEND", "other", "x"), ("SETRANGE", "other", 0, "x"), ("SETRANGE", "other", 0, ""),
    ("INCR", "other"), ("DECR", "other"), ("INCRBY", "other", 1), ("DECRBY", "other", 1),
    ("INCRBYFLOAT", "other", "1.5"), ("INCRBYFLOAT", "other", "abc"),
])
def test_wrongtype_changes_nothing(call, client, command):
    assert call(client, *command) == WRONGTYPE
    assert isinstance(client.db.get(b"other"), OtherType)


def test_other_types_are_nil_for_mget_and_overwritten_by_set(call, client):
    assert call(client, "MGET", "other", "nothing") == [None, None]
    assert call(client, "LCS", "other", "nothing") == "ERR The specified keys must contain string values"
    assert call(client, "LCS", "nothing", "other", "MINMATCHLEN", "x") == (
        "ERR The specified keys must contain string values")
    assert call(client, "MSETNX", "other", "v") == 0
    assert call(client, "SETNX", "other", "v") == 0
    assert call(client, "SET", "other", "v", "XX") == "OK"
    assert client.db.get(b"other") == b"v"


def test_append_and_setrange_modify_in_place(call, client):
    assert call(client, "APPEND", "k", "ab") == 2
    assert type(client.db.get(b"k")) is bytes
    assert call(client, "APPEND", "k", "cd") == 4
    value = client.db.get(b"k")
    assert type(value) is bytearray
    assert call(client, "SETRANGE", "k", 1, "X") == 4
    assert client.db.get(b"k") is value and value == b"aXcd"
