/*
Copyright 2016 The Kubernetes Authors.
Copyright 2026 The jobserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package validation

import (
	"fmt"
	"strconv"
	"strings"
)

// validateIndexesFormat checks an index string such as "1,3-5,7": comma
// separated indexes or intervals "a-b" (a<b), each below completions, in
// strictly increasing order. It returns how many indexes the string names.
func validateIndexesFormat(indexesStr string, completions int32) (int32, error) {
	if len(indexesStr) == 0 {
		return 0, nil
	}
	var lastIndex *int32
	var total int32
	for _, intervalStr := range strings.Split(indexesStr, ",") {
		x, y, err := parseIndexInterval(intervalStr, completions)
		if err != nil {
			return 0, err
		}
		if lastIndex != nil && *lastIndex >= x {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", *lastIndex, x)
		}
		total += y - x + 1
		lastIndex = &y
	}
	return total, nil
}

// parseIndexInterval parses "x" or "x-y" with x<y<completions.
func parseIndexInterval(intervalStr string, completions int32) (int32, int32, error) {
	limitsStr := strings.Split(intervalStr, "-")
	if len(limitsStr) > 2 {
		return 0, 0, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", intervalStr)
	}
	x, err := strconv.Atoi(limitsStr[0])
	if err != nil {
		return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", limitsStr[0])
	}
	if x >= int(completions) {
		return 0, 0, fmt.Errorf("too large index: %q", limitsStr[0])
	}
	if len(limitsStr) > 1 {
		y, err := strconv.Atoi(limitsStr[1])
		if err != nil {
			return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", limitsStr[1])
		}
		if y >= int(completions) {
			return 0, 0, fmt.Errorf("too large index: %q", limitsStr[1])
		}
		if x >= y {
			return 0, 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", x, y)
		}
		return int32(x), int32(y), nil
	}
	return int32(x), int32(x), nil
}

// validateFailedIndexesNotOverlapCompleted reports the first index named by
// both strings. Intervals that do not parse are skipped: their format error
// is reported by validateIndexesFormat.
func validateFailedIndexesNotOverlapCompleted(completedIndexesStr string, failedIndexesStr string, completions int32) error {
	if len(completedIndexesStr) == 0 || len(failedIndexesStr) == 0 {
		return nil
	}
	completedIntervals := strings.Split(completedIndexesStr, ",")
	failedIntervals := strings.Split(failedIndexesStr, ",")
	var completedPos, failedPos int
	cX, cY, cErr := parseIndexInterval(completedIntervals[completedPos], completions)
	fX, fY, fErr := parseIndexInterval(failedIntervals[failedPos], completions)
	for completedPos < len(completedIntervals) && failedPos < len(failedIntervals) {
		switch {
		case cErr != nil:
			completedPos++
			if completedPos < len(completedIntervals) {
				cX, cY, cErr = parseIndexInterval(completedIntervals[completedPos], completions)
			}
		case fErr != nil:
			failedPos++
			if failedPos < len(failedIntervals) {
				fX, fY, fErr = parseIndexInterval(failedIntervals[failedPos], completions)
			}
		default:
			if cX <= fY && fX <= cY {
				return fmt.Errorf("failedIndexes and completedIndexes overlap at index: %d", max(cX, fX))
			}
			if cX <= fX {
				completedPos++
				if completedPos < len(completedIntervals) {
					cX, cY, cErr = parseIndexInterval(completedIntervals[completedPos], completions)
				}
			} else {
				failedPos++
				if failedPos < len(failedIntervals) {
					fX, fY, fErr = parseIndexInterval(failedIntervals[failedPos], completions)
				}
			}
		}
	}
	return nil
}
