package rpm

// Header data types (lib/rpmtag.h, rpmTagType).
const (
	typeChar        = 1
	typeInt8        = 2
	typeInt16       = 3
	typeInt32       = 4
	typeInt64       = 5
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
	typeI18NString  = 9
)

// Region tags: the first index entry of a header points at a trailer that
// marks which entries the header's digest and signature cover.
const (
	tagHeaderImage      = 61 // in the signature trailer of some old packages
	tagHeaderSignatures = 62
	tagHeaderImmutable  = 63
	tagHeaderI18NTable  = 100
)

// Signature header tags (RPMSIGTAG_*).
const (
	sigRSA             = 268 // OpenPGP signature of the main header (RSA)
	sigDSA             = 267 // same, for DSA/ECDSA/EdDSA keys
	sigSHA1            = 269
	sigLongSize        = 270
	sigLongArchiveSize = 271
	sigSHA256          = 273
	sigSize            = 1000
	sigPayloadSize     = 1007
	sigReservedSpace   = 1008 // zeros that a later signature may take
)

// Main header tags that only Read uses.
const (
	tagOldFileNames       = 1027 // full paths, before rpmlib(CompressedFileNames)
	tagArchiveSize        = 1046 // RPMSIGTAG_PAYLOADSIZE, when a header carries it
	tagChangelogTime      = 1080
	tagChangelogName      = 1081
	tagChangelogText      = 1082
	tagSourcePackage      = 1106
	tagOldSuggestsName    = 1156 // weak dependencies before rpm 4.12
	tagOldSuggestsVersion = 1157
	tagOldSuggestsFlags   = 1158
	tagOldEnhancesName    = 1159
	tagOldEnhancesVersion = 1160
	tagOldEnhancesFlags   = 1161
	tagSupplementName     = 5052
	tagSupplementVersion  = 5053
	tagSupplementFlags    = 5054
	tagEnhanceName        = 5055
	tagEnhanceVersion     = 5056
	tagEnhanceFlags       = 5057
	tagLongArchiveSize    = 271 // RPMSIGTAG_LONGARCHIVESIZE, when a header carries it
)

// Main header tags (RPMTAG_*).
const (
	tagName              = 1000
	tagVersion           = 1001
	tagRelease           = 1002
	tagEpoch             = 1003
	tagSummary           = 1004
	tagDescription       = 1005
	tagBuildTime         = 1006
	tagBuildHost         = 1007
	tagSize              = 1009
	tagVendor            = 1011
	tagLicense           = 1014
	tagPackager          = 1015
	tagGroup             = 1016
	tagURL               = 1020
	tagOS                = 1021
	tagArch              = 1022
	tagPreIn             = 1023
	tagPostIn            = 1024
	tagPreUn             = 1025
	tagPostUn            = 1026
	tagFileSizes         = 1028
	tagFileModes         = 1030
	tagFileRdevs         = 1033
	tagFileMtimes        = 1034
	tagFileDigests       = 1035
	tagFileLinkTos       = 1036
	tagFileFlags         = 1037
	tagFileUserName      = 1039
	tagFileGroupName     = 1040
	tagSourceRPM         = 1044
	tagFileVerifyFlags   = 1045
	tagProvideName       = 1047
	tagRequireFlags      = 1048
	tagRequireName       = 1049
	tagRequireVersion    = 1050
	tagConflictFlags     = 1053
	tagConflictName      = 1054
	tagConflictVersion   = 1055
	tagRPMVersion        = 1064
	tagVerifyScript      = 1079
	tagPreInProg         = 1085
	tagPostInProg        = 1086
	tagPreUnProg         = 1087
	tagPostUnProg        = 1088
	tagObsoleteName      = 1090
	tagVerifyScriptProg  = 1091
	tagFileDevices       = 1095
	tagFileInodes        = 1096
	tagFileLangs         = 1097
	tagPrefixes          = 1098
	tagProvideFlags      = 1112
	tagProvideVersion    = 1113
	tagObsoleteFlags     = 1114
	tagObsoleteVersion   = 1115
	tagDirIndexes        = 1116
	tagBaseNames         = 1117
	tagDirNames          = 1118
	tagPayloadFormat     = 1124
	tagPayloadCompressor = 1125
	tagPayloadFlags      = 1126
	tagPreTrans          = 1151
	tagPostTrans         = 1152
	tagPreTransProg      = 1153
	tagPostTransProg     = 1154
	tagLongFileSizes     = 5008
	tagLongSize          = 5009
	tagFileDigestAlgo    = 5011
	tagRecommendName     = 5046
	tagRecommendVersion  = 5047
	tagRecommendFlags    = 5048
	tagSuggestName       = 5049
	tagSuggestVersion    = 5050
	tagSuggestFlags      = 5051
	tagEncoding          = 5062
	tagPayloadDigest     = 5092
	tagPayloadDigestAlgo = 5093
	tagPayloadDigestAlt  = 5097
)

// Dependency sense flags (lib/rpmds.h, rpmsenseFlags).
const (
	senseLess         = 1 << 1
	senseGreater      = 1 << 2
	senseEqual        = 1 << 3
	sensePostTrans    = 1 << 5
	sensePrereq       = 1 << 6
	sensePreTrans     = 1 << 7
	senseInterp       = 1 << 8
	senseScriptPre    = 1 << 9
	senseScriptPost   = 1 << 10
	senseScriptPreUn  = 1 << 11
	senseScriptPostUn = 1 << 12
	senseScriptVerify = 1 << 13
	senseMissingOK    = 1 << 19 // a requirement that is only a recommendation (before rpm 4.12)
	senseRPMLib       = 1 << 24
	senseStrong       = 1 << 27 // an old suggests or enhances that is a recommends or supplements
	senseConfig       = 1 << 28
)

// File flags (lib/rpmfiles.h, rpmfileAttrs).
const (
	fileConfig    = 1 << 0
	fileNoReplace = 1 << 4
	fileGhost     = 1 << 6
)

// pgpHashAlgoSHA256 is the OpenPGP hash id rpm uses for FILEDIGESTALGO and
// PAYLOADDIGESTALGO.
const pgpHashAlgoSHA256 = 8
