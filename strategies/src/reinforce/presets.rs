//! Named settings from the papers (see REFERENCES.md, "RL controller").

use super::adam::AdamConfig;
use super::policy::Shaping;
use super::{ControllerConfig, ReinforceConfig};
use crate::config::ObjectiveConfig;

/// Preset names, the default first.
pub const PRESETS: &[&str] = &["zoph2017", "enas", "nb201"];

fn adam(lr: f64) -> AdamConfig {
    AdamConfig {
        lr,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    }
}

/// The preset of this name.
pub fn preset(name: &str) -> Option<ReinforceConfig> {
    let config = match name {
        // Zoph & Le 2017: 2-layer LSTM of 35 units, U(-0.08, 0.08), Adam
        // 6e-4, reward = accuracy^3, EMA baseline. The paper gives no decay;
        // 0.95 is our choice (recorded in the config, overridable).
        "zoph2017" => ReinforceConfig {
            controller: ControllerConfig::Lstm {
                hidden: 35,
                layers: 2,
                init_range: 0.08,
            },
            adam: adam(6e-4),
            baseline_decay: 0.95,
            baseline_bias_correction: false,
            entropy_weight: 0.0,
            shaping: None,
            reward_power: 3.0,
            batch_size: 1,
            invalid_retries: 100,
            objective: ObjectiveConfig::default(),
        },
        // ENAS code (Pham et al. 2018): LSTM 64x1, init U(-0.1, 0.1), Adam
        // 1e-3, baseline decay 0.99, entropy bonus 1e-4 added to the reward,
        // logits 1.5 * tanh(logits / 5).
        "enas" => ReinforceConfig {
            controller: ControllerConfig::Lstm {
                hidden: 64,
                layers: 1,
                init_range: 0.1,
            },
            adam: adam(1e-3),
            baseline_decay: 0.99,
            baseline_bias_correction: false,
            entropy_weight: 1e-4,
            shaping: Some(Shaping {
                temperature: 5.0,
                tanh_constant: 1.5,
            }),
            reward_power: 1.0,
            batch_size: 1,
            invalid_retries: 100,
            objective: ObjectiveConfig::default(),
        },
        // NAS-Bench-201 / NATS-Bench REINFORCE: logit table 1e-3 * randn,
        // Adam 0.01, bias-corrected EMA baseline with momentum 0.9.
        "nb201" => ReinforceConfig {
            controller: ControllerConfig::Table { init_std: 1e-3 },
            adam: adam(0.01),
            baseline_decay: 0.9,
            baseline_bias_correction: true,
            entropy_weight: 0.0,
            shaping: None,
            reward_power: 1.0,
            batch_size: 1,
            invalid_retries: 100,
            objective: ObjectiveConfig::default(),
        },
        _ => return None,
    };
    Some(config)
}
