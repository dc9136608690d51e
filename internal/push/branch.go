package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// branchVars are the CI variables that name the branch being built, in the
// order they are believed. Pull-request variables come before their CI's
// plain one, which on a pull request names a merge ref ("123/merge",
// "PR-123") rather than a branch.
var branchVars = []string{
	"CI_COMMIT_REF_NAME", // GitLab, also in merge request pipelines
	"GITHUB_HEAD_REF",    // GitHub Actions, pull requests only
	"GITHUB_REF_NAME",    // GitHub Actions
	"CHANGE_BRANCH",      // Jenkins multibranch, pull requests only
	"BRANCH_NAME",        // Jenkins multibranch
}

// BranchSource is where DetectBranch looks. The zero value looks at the
// process environment and runs git in the current directory.
type BranchSource struct {
	// Getenv returns an environment variable; os.Getenv when nil.
	Getenv func(string) string
	// GitHead returns the output of `git rev-parse --abbrev-ref HEAD`;
	// when nil, git is run in Dir.
	GitHead func(ctx context.Context) (string, error)
	Dir     string
}

// ErrDetachedHead is returned when git has no branch checked out and no CI
// variable names one.
var ErrDetachedHead = errors.New("git HEAD is detached and no CI variable (" +
	strings.Join(branchVars, ", ") + ") names a branch; pass --branch")

// DetectBranch returns the branch to push to: the first CI variable of
// branchVars that is set, else git's current branch. CI jobs usually check
// out a detached HEAD, so git is the last resort.
func DetectBranch(ctx context.Context, src BranchSource) (string, error) {
	getenv := src.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, v := range branchVars {
		if b := strings.TrimSpace(getenv(v)); b != "" {
			return b, nil
		}
	}
	gitHead := src.GitHead
	if gitHead == nil {
		gitHead = func(ctx context.Context) (string, error) { return runGitHead(ctx, src.Dir) }
	}
	head, err := gitHead(ctx)
	if err != nil {
		return "", fmt.Errorf("no branch given, none in the CI variables, and git could not tell: %w", err)
	}
	head = strings.TrimSpace(head)
	if head == "" || head == "HEAD" {
		return "", ErrDetachedHead
	}
	return head, nil
}

func runGitHead(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--abbrev-ref", "HEAD")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("git rev-parse: %s", msg)
		}
		return "", fmt.Errorf("git rev-parse: %w", err)
	}
	return string(out), nil
}
