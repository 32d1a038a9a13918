//! Every instruction set this CPU has, against a plain triple loop in f64,
//! on ragged shapes (rows and columns that are not multiples of the
//! register blocks, reductions shorter and longer than a vector).

use super::*;

/// The paths this CPU can run (the portable one always).
fn available() -> Vec<Isa> {
    Isa::available()
}

/// Seeded values in [-1, 1) (a small LCG: the test needs no statistics).
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn assert_close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "{what}: element {i} is {g}, expected {w}"
        );
    }
}

#[test]
fn panel_product_matches_a_plain_loop() {
    for isa in available() {
        for &(rows, depth, stride, col0, width) in &[
            (8, 16, 32, 0, 32),
            (16, 144, 40, 3, 32),
            (5, 7, 20, 2, 17),
            (13, 1, 33, 1, 31),
            (27, 16, 16, 0, 16),
            (9, 40, 64, 60, 4),
            (1, 3, 1, 0, 1),
        ] {
            let a = values(rows * depth, 1);
            let mut panel = values(depth * NR, 2);
            // Columns past `width` must not matter: poison them.
            for row in panel.chunks_exact_mut(NR) {
                row[width..].fill(f32::NAN);
            }
            let before = values(rows * stride, 3);
            for accumulate in [false, true] {
                let mut c = before.clone();
                let packed = PackedA::pack(isa, rows, depth, |r, k| a[r * depth + k]);
                let out = PanelOut::new(&mut c, stride, col0, width);
                let b = RightOperand {
                    data: &panel,
                    starts: Strided(NR),
                    col: 0,
                };
                product_with(&packed, 0..packed.blocks(), b, out, accumulate);
                let mut want: Vec<f64> = before.iter().map(|&v| v as f64).collect();
                for i in 0..rows {
                    for j in 0..width {
                        let sum: f64 = (0..depth)
                            .map(|k| a[i * depth + k] as f64 * panel[k * NR + j] as f64)
                            .sum();
                        let dst = &mut want[i * stride + col0 + j];
                        *dst = if accumulate { *dst + sum } else { sum };
                    }
                }
                let what =
                    format!("{isa:?} rows {rows} depth {depth} width {width} acc {accumulate}");
                assert_close(&c, &want, &what);
            }
        }
    }
}

#[test]
fn transposed_packing_packs_the_transpose() {
    let (rows, depth) = (11, 6);
    let a_t = values(depth * rows, 4);
    let mut a = vec![0.0; rows * depth];
    for k in 0..depth {
        for r in 0..rows {
            a[r * depth + k] = a_t[k * rows + r];
        }
    }
    assert_eq!(
        PackedA::transposed(&a_t, rows, depth).data,
        PackedA::rows(&a, rows, depth).data
    );
}

#[test]
fn dot_accumulate_matches_a_plain_loop() {
    for isa in available() {
        for &(m, n, len) in &[
            (4, 4, 16),
            (16, 144, 1024),
            (6, 7, 49),
            (3, 27, 5),
            (8, 12, 64),
            (5, 4, 0),
            (2, 5, 9),
            (1, 3, 8),
            (7, 2, 17),
        ] {
            let a = values(m * len, 5);
            let b = values(n * len, 6);
            let before = values(m * n, 7);
            let mut c = before.clone();
            dot_with(isa, &a, m, (&b, Strided(len)), n, len, &mut c);
            let want: Vec<f64> = (0..m * n)
                .map(|ij| {
                    let (i, j) = (ij / n, ij % n);
                    let dot: f64 = (0..len)
                        .map(|p| a[i * len + p] as f64 * b[j * len + p] as f64)
                        .sum();
                    before[ij] as f64 + dot
                })
                .collect();
            assert_close(&c, &want, &format!("{isa:?} m {m} n {n} len {len}"));
        }
    }
}

#[test]
fn an_uninitialised_destination_is_written_whole_and_never_accumulated_into() {
    let (rows, depth, width) = (3, 5, 20);
    let a = values(rows * depth, 8);
    let panel = values(depth * NR, 9);
    let packed = PackedA::rows(&a, rows, depth);
    let mut c = vec![std::mem::MaybeUninit::<f32>::uninit(); rows * width];
    panel_product(
        &packed,
        0..1,
        &panel,
        PanelOut::uninit(&mut c, width, 0, width),
        false,
    );
    // SAFETY: the product overwrote every element (rows x width).
    let c: Vec<f32> = c.iter().map(|v| unsafe { v.assume_init() }).collect();
    let mut want = vec![0.0f32; rows * width];
    panel_product(
        &packed,
        0..1,
        &panel,
        PanelOut::new(&mut want, width, 0, width),
        false,
    );
    assert_eq!(c, want);
    let refused = std::panic::catch_unwind(|| {
        let mut c = vec![std::mem::MaybeUninit::<f32>::uninit(); rows * width];
        let out = PanelOut::uninit(&mut c, width, 0, width);
        panel_product(&packed, 0..1, &panel, out, true);
    });
    assert!(
        refused.is_err(),
        "accumulating into uninitialised memory must panic"
    );
}

/// Rows read in place at arbitrary (overlapping, unordered) offsets, as a
/// convolution's shifted views are: both products, every instruction set.
#[test]
fn shifted_rows_match_a_plain_loop() {
    let (rows, depth, len) = (11, 9, 45);
    let data = values(200, 10);
    let starts: Vec<usize> = (0..depth).map(|k| (k * 37 + 5) % 120).collect();
    let a = values(rows * depth, 11);
    for isa in available() {
        let packed = PackedA::pack(isa, rows, depth, |r, k| a[r * depth + k]);
        for (col, width) in [(0, 32), (3, 17), (40, 9)] {
            let mut c = values(rows * 64, 12);
            let b = RightOperand {
                data: &data,
                starts: &starts[..],
                col,
            };
            let out = PanelOut::new(&mut c, 64, 1, width);
            product_with(&packed, 0..packed.blocks(), b, out, false);
            for i in 0..rows {
                for j in 0..width {
                    let want: f64 = (0..depth)
                        .map(|k| a[i * depth + k] as f64 * data[starts[k] + col + j] as f64)
                        .sum();
                    let what = format!("{isa:?} panel col {col} ({i}, {j})");
                    assert_close(&c[i * 64 + 1 + j..i * 64 + 2 + j], &[want], &what);
                }
            }
        }
        let gy = values(rows * len, 13);
        let mut gw = vec![0.5f32; rows * depth];
        dot_with(isa, &gy, rows, (&data, &starts[..]), depth, len, &mut gw);
        let want: Vec<f64> = (0..rows * depth)
            .map(|ij| {
                let (i, j) = (ij / depth, ij % depth);
                0.5 + (0..len)
                    .map(|p| gy[i * len + p] as f64 * data[starts[j] + p] as f64)
                    .sum::<f64>()
            })
            .collect();
        assert_close(&gw, &want, &format!("{isa:?} shifted dot"));
    }
}
