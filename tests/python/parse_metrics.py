"""Parses an OpenMetrics scrape from stdin with the official Python client's strict
parser and prints its samples as JSON: [{"family", "type", "name", "labels", "value"}].
Exits non-zero (with the parser's message) when the text is not valid OpenMetrics."""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def main() -> None:
    text = sys.stdin.read()
    samples = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.append(
                {
                    "family": family.name,
                    "type": family.type,
                    "name": sample.name,
                    "labels": sample.labels,
                    "value": sample.value,
                }
            )
    json.dump(samples, sys.stdout)


if __name__ == "__main__":
    main()
