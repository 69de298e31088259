"""The CLI tests' tally, shared by the scripts in tests/cli: check() counts each
check and prints a failing one with its detail; summary() prints 'N passed, M
failed' and returns the exit status (1 if anything failed)."""

PASSED = FAILED = 0


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print(f"FAIL {name}: {detail}"[:3000])


def summary():
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0
