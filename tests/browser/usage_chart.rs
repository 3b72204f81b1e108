//! Charts people can read (issue 12, item 15) and dark mode (item 14), as
//! a browser lays them out: the usage chart fills its card, has a legend, a
//! y-axis with values and dates that do not run into each other at 90 days,
//! on a laptop and on a phone; rejections are listed by their label; the
//! pages turn dark with the system's setting.

use thirtyfour::prelude::*;

use crate::accessibility::{evaluate, key_id, record_usage, set_color_scheme, set_viewport, signed_in_to_the_demo};
use crate::find::{button, heading, sees};
use crate::harness::with_browser;
use crate::support::Part;

crate::tests!(needs Part::Browser;
    the_usage_chart_fills_its_card_with_a_legend_an_axis_and_dates_that_do_not_collide,
    the_pages_turn_dark_with_the_system_setting);

const BASE: &str = "/backoffice/settings/api-keys";

/// The chart's layout as the browser drew it: the plot is found by its role
/// and accessible name, the rest measured around it.
const MEASURE: &str = r#"
const plot = [...document.querySelectorAll("svg[role=img]")]
  .find((svg) => (svg.getAttribute("aria-label") || "").startsWith("Requests per day over 90 days"));
const figure = plot.closest("figure");
const card = plot.closest("section");
const style = getComputedStyle(card);
const inner = card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
const cardBox = card.getBoundingClientRect();
const labels = [...figure.querySelectorAll("svg[aria-hidden=true] text")]
  .filter((text) => getComputedStyle(text).display !== "none")
  .map((text) => { const box = text.getBoundingClientRect(); return { text: text.textContent, left: box.left, right: box.right }; });
const ticks = [...figure.querySelectorAll("div[aria-hidden=true] > span")].map((span) => span.textContent);
return {
  inner,
  figure: figure.getBoundingClientRect().width,
  plot: plot.getBoundingClientRect().width,
  card_left: cardBox.left,
  card_right: cardBox.right,
  labels,
  ticks,
  text: figure.innerText,
};
"#;

async fn the_usage_chart_fills_its_card_with_a_legend_an_axis_and_dates_that_do_not_collide() {
    with_browser(|driver, app| async move {
        signed_in_to_the_demo(&driver, &app).await;
        let id = key_id(&app, "Flight sync integration").await;
        record_usage(&app, &id, 90).await;
        driver
            .goto(app.url(&format!("{BASE}/usage?days=90")))
            .await
            .expect("the usage page opens");
        heading(&driver, 1, "Usage").await;

        let today = chrono::Utc::now().format("%b %-d").to_string();
        for (width, height) in [(1280, 900), (375, 800)] {
            set_viewport(&driver, width, height).await;
            let chart = driver
                .execute(MEASURE, Vec::new())
                .await
                .expect("the chart is measured")
                .json()
                .clone();
            let number = |name: &str| chart[name].as_f64().unwrap_or_else(|| panic!("{name} in {chart}"));
            assert!(
                (number("figure") - number("inner")).abs() < 1.0,
                "at {width} px the chart fills its card: {chart}"
            );
            assert!(number("plot") > number("inner") * 0.75, "at {width} px the bars take the width: {chart}");

            let text = chart["text"].as_str().expect("the chart's text");
            assert!(text.contains("Allowed") && text.contains("Rejected"), "a legend: {text}");

            let ticks: Vec<i64> = chart["ticks"]
                .as_array()
                .expect("the y-axis values")
                .iter()
                .map(|tick| {
                    tick.as_str()
                        .expect("a value")
                        .replace(',', "")
                        .parse()
                        .expect("a number")
                })
                .collect();
            assert_eq!(ticks.len(), 5, "a y-axis with values: {chart}");
            assert_eq!(ticks.last(), Some(&0));
            assert!(ticks.windows(2).all(|pair| pair[0] > pair[1]), "{ticks:?}");
            assert!(ticks[0] >= 649, "the axis reaches above the busiest day (649 allowed): {ticks:?}");

            let labels = chart["labels"].as_array().expect("the dates");
            assert!(
                (3..=6).contains(&labels.len()),
                "at {width} px a few dates, not 90: {labels:?}"
            );
            assert_eq!(labels.last().and_then(|l| l["text"].as_str()), Some(today.as_str()));
            let edges = |label: &serde_json::Value| {
                (
                    label["left"].as_f64().expect("left"),
                    label["right"].as_f64().expect("right"),
                )
            };
            for pair in labels.windows(2) {
                let ((_, right), (left, _)) = (edges(&pair[0]), edges(&pair[1]));
                assert!(right + 4.0 <= left, "at {width} px dates run into each other: {labels:?}");
            }
            for label in labels {
                let (left, right) = edges(label);
                assert!(
                    left >= number("card_left") && right <= number("card_right"),
                    "at {width} px a date leaves its card: {label} in {chart}"
                );
            }
        }
        set_viewport(&driver, 1280, 900).await;

        // Rejections by their label, the code beside it.
        let row = driver
            .find(By::XPath(
                "//table[@aria-label='Rejections by reason']//tr[td[1][normalize-space(.)='Address not allowed ip_not_allowed']]",
            ))
            .await
            .expect("the rejection is listed by its label");
        assert!(row.text().await.expect("text").contains("Address not allowed"));

        // The same figures as a table.
        driver
            .find(By::XPath("//summary[normalize-space(.)='Figures per day']"))
            .await
            .expect("the disclosure")
            .click()
            .await
            .expect("it opens");
        let rows = driver
            .find_all(By::XPath("//table[@aria-label='Requests per day']/tbody/tr"))
            .await
            .expect("rows");
        assert_eq!(rows.len(), 90);
    })
    .await;
}

async fn the_pages_turn_dark_with_the_system_setting() {
    with_browser(|driver, app| async move {
        driver.goto(app.url("/login")).await.expect("the login page opens");
        button(&driver, "Sign in").await;
        let colours = "JSON.stringify([getComputedStyle(document.documentElement).backgroundColor, \
                       getComputedStyle(document.querySelector('main h1')).color])";
        set_color_scheme(&driver, "light").await;
        let light = evaluate(&driver, colours).await;
        set_color_scheme(&driver, "dark").await;
        let dark = evaluate(&driver, colours).await;
        assert_eq!(light, serde_json::json!(r#"["rgb(246, 247, 249)","rgb(28, 36, 48)"]"#));
        assert_eq!(dark, serde_json::json!(r#"["rgb(15, 20, 26)","rgb(230, 233, 238)"]"#));
        sees(&driver, "Sign in to Keyward").await;
    })
    .await;
}
