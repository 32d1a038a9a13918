//! The three SqueezeNAS encoder spaces and the published networks, from the
//! official code (ashaw596/squeezenas: `arch/hyperparameters.py` for the
//! stage tables, `nets.py` for the arguments the published networks use
//! and their genotypes, `README.md` for their GigaMACs at 1024x2048).

/// The decoder head of a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadKind {
    /// LR-ASPP-lite on the OS16 features with an OS8 skip (small, large).
    LrAspp {
        /// Channels of the 1x1 conv on the OS16 features and of the gate.
        mid: usize,
    },
    /// ASPP (rates 6, 12, 18; grouped 3x3) and an OS4 decoder (xlarge).
    Aspp {
        /// Channels of every ASPP branch and of its output.
        mid: usize,
    },
}

/// One SqueezeNAS space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    /// Registered name.
    pub name: &'static str,
    /// Channels of the 3x3 stride-2 stem conv.
    pub stem: usize,
    /// Stages: (output channels, searched layers, first stride).
    pub stages: &'static [(usize, usize, usize)],
    /// 1x1 conv + BN + ReLU after the last searched layer (small: 256).
    pub last_conv: Option<usize>,
    /// Index of the searched layer whose output feeds the decoder skip.
    pub skip_layer: usize,
    /// The decoder head.
    pub head: HeadKind,
}

/// `squeezenas-small`: 20 searched layers; skip from layer 7 (24 ch, OS8).
pub const SMALL: Variant = Variant {
    name: "squeezenas-small",
    stem: 16,
    stages: &[(16, 4, 2), (24, 4, 2), (40, 4, 2), (48, 4, 1), (96, 4, 1)],
    last_conv: Some(256),
    skip_layer: 7,
    head: HeadKind::LrAspp { mid: 128 },
};

/// `squeezenas-large`: 22 searched layers; the last stage is 320 x 0.5 =
/// 160 channels (`final_width_multiplier` 0.5 in `nets.py`); skip from
/// layer 8 (32 ch, OS8).
pub const LARGE: Variant = Variant {
    name: "squeezenas-large",
    stem: 16,
    stages: &[
        (16, 1, 1),
        (24, 4, 2),
        (32, 4, 2),
        (64, 4, 2),
        (96, 4, 1),
        (160, 4, 1),
        (160, 1, 1),
    ],
    last_conv: None,
    skip_layer: 8,
    head: HeadKind::LrAspp { mid: 128 },
};

/// `squeezenas-xlarge`: 22 searched layers, 48-channel stem; skip from
/// layer 4 (32 ch, OS4) into the ASPP decoder.
pub const XLARGE: Variant = Variant {
    name: "squeezenas-xlarge",
    stem: 48,
    stages: &[
        (24, 1, 1),
        (32, 4, 2),
        (48, 4, 2),
        (96, 4, 2),
        (144, 4, 1),
        (240, 4, 1),
        (320, 1, 1),
    ],
    last_conv: None,
    skip_layer: 4,
    head: HeadKind::Aspp { mid: 160 },
};

/// The published networks: (name, variant, genotype, MACs at 1x3x1024x2048
/// as the official `eval.py` printed them in full in the README). For the
/// two without a full figure the README's rounded table says 4.46 G
/// (lat-small; ours 4.465 G) and 10.86 G (lat-large; ours 19.57 G: the
/// genotype `nets.py` gives it, on the hyperparameters that reproduce
/// mac-large exactly, has five k3_e6 layers at 160 channels on the OS16
/// map costing 12.6 G alone, so the README figure must describe another
/// network).
pub const PUBLISHED: [(&str, Variant, &str, Option<u64>); 6] = [
    (
        "squeezenas-mac-small",
        SMALL,
        MAC_SMALL,
        Some(3_007_512_576),
    ),
    (
        "squeezenas-mac-large",
        LARGE,
        MAC_LARGE,
        Some(9_386_147_840),
    ),
    (
        "squeezenas-mac-xlarge",
        XLARGE,
        MAC_XLARGE,
        Some(21_838_299_136),
    ),
    ("squeezenas-lat-small", SMALL, LAT_SMALL, None),
    ("squeezenas-lat-large", LARGE, LAT_LARGE, None),
    (
        "squeezenas-lat-xlarge",
        XLARGE,
        LAT_XLARGE,
        Some(32_729_202_688),
    ),
];

/// SqueezeNAS-MAC-Small.
pub const MAC_SMALL: &str = "k3_e1_g2,k3_e1_g1,k3_e1_g1,k3_e1_g2,\
k5_e6_g1,k3_e1_g1,k3_e1_g1,k3_e1_g2_d2,\
k5_e6_g1,k3_e6_g1_d2,skip,k3_e1_g2,\
k5_e6_g1,k3_e3_g1_d2,k3_e1_g1_d2,k3_e1_g1_d2,\
k3_e6_g1_d2,k3_e1_g2_d2,k3_e1_g2_d2,k3_e1_g2_d2";

/// SqueezeNAS-MAC-Large.
pub const MAC_LARGE: &str = "k3_e1_g2,\
k3_e6_g1,k3_e1_g2_d2,k3_e1_g2,k3_e1_g2,\
k5_e6_g1,k5_e6_g1,k3_e6_g1_d2,k5_e6_g1,\
k5_e6_g1,k5_e6_g1,k5_e1_g1,k3_e3_g1,\
k5_e6_g1,k3_e1_g1,k5_e1_g1,k3_e3_g1_d2,\
k3_e6_g1_d2,k3_e1_g2_d2,k3_e1_g2_d2,k3_e1_g2_d2,\
k3_e1_g1_d2";

/// SqueezeNAS-MAC-XLarge.
pub const MAC_XLARGE: &str = "k3_e1_g2,\
k3_e3_g1,k3_e1_g2,k5_e1_g1,k3_e3_g1_d2,\
k5_e6_g1,k5_e1_g2,k3_e1_g2_d2,k3_e3_g1,\
k5_e6_g1,k3_e3_g1,skip,k3_e1_g2_d2,\
k5_e6_g1,k3_e1_g1,k5_e6_g1,skip,\
k3_e6_g1_d2,k3_e1_g2_d2,k3_e1_g2_d2,k3_e1_g2_d2,\
k3_e3_g1_d2";

/// SqueezeNAS-LAT-Small.
pub const LAT_SMALL: &str = "k3_e1_g1,skip,skip,skip,\
k3_e6_g1,k3_e6_g1,skip,skip,\
k5_e6_g1,k3_e6_g1_d2,k5_e1_g2,k3_e1_g2,\
k3_e6_g1_d2,k3_e6_g1_d2,k3_e6_g1_d2,k3_e1_g1_d2,\
k3_e6_g1_d2,k3_e3_g1_d2,k3_e3_g1_d2,k3_e3_g1_d2";

/// SqueezeNAS-LAT-Large.
pub const LAT_LARGE: &str = "skip,\
k3_e6_g1,k3_e3_g1,k3_e1_g1_d2,k3_e3_g1,\
k5_e6_g1,k3_e6_g1,k3_e3_g1,k3_e6_g1_d2,\
k5_e6_g1,k5_e1_g1,k5_e1_g1,k5_e1_g2,\
k3_e6_g1_d2,k3_e6_g1_d2,k3_e6_g1_d2,k3_e1_g1,\
k3_e6_g1_d2,k3_e6_g1_d2,k3_e6_g1_d2,k3_e6_g1_d2,\
k3_e6_g1_d2";

/// SqueezeNAS-LAT-XLarge.
pub const LAT_XLARGE: &str = "skip,\
k3_e3_g1,k3_e3_g1,k3_e3_g1,k3_e1_g1_d2,\
k3_e6_g1,k3_e3_g1,k5_e6_g1,k5_e1_g2,\
k5_e6_g1,k3_e6_g1,k3_e1_g2_d2,k3_e6_g1,\
k5_e6_g1,k3_e3_g1_d2,k3_e1_g2_d2,k3_e3_g1,\
k3_e6_g1_d2,k3_e3_g1_d2,k5_e1_g1,k3_e3_g1_d2,\
k3_e6_g1_d2";
