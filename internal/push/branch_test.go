package push

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestDetectBranch(t *testing.T) {
	gitSays := func(out string, err error) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return out, err }
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		git     func(context.Context) (string, error)
		want    string
		wantErr string
	}{
		{"GitLab", map[string]string{"CI_COMMIT_REF_NAME": "feature/login"}, nil, "feature/login", ""},
		{"GitHub push", map[string]string{"GITHUB_REF_NAME": "main", "GITHUB_HEAD_REF": ""}, nil, "main", ""},
		{"GitHub pull request", map[string]string{"GITHUB_REF_NAME": "42/merge", "GITHUB_HEAD_REF": "fix/crash"}, nil, "fix/crash", ""},
		{"Jenkins branch", map[string]string{"BRANCH_NAME": "release-24.08"}, nil, "release-24.08", ""},
		{"Jenkins pull request", map[string]string{"BRANCH_NAME": "PR-7", "CHANGE_BRANCH": "feature/x"}, nil, "feature/x", ""},
		{"GitLab wins over a stray GitHub variable", map[string]string{"CI_COMMIT_REF_NAME": "a", "GITHUB_REF_NAME": "b"}, nil, "a", ""},
		{"blank variable is unset", map[string]string{"CI_COMMIT_REF_NAME": "  "}, gitSays("dev\n", nil), "dev", ""},
		{"git branch", nil, gitSays("feature/local\n", nil), "feature/local", ""},
		{"detached HEAD", nil, gitSays("HEAD\n", nil), "", "detached"},
		{"not a repository", nil, gitSays("", errors.New("git rev-parse: fatal: not a git repository")), "", "not a git repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			git := tc.git
			if git == nil {
				git = func(context.Context) (string, error) {
					t.Error("git run although a CI variable names the branch")
					return "", errors.New("unexpected")
				}
			}
			src := BranchSource{Getenv: func(k string) string { return tc.env[k] }, GitHead: git}
			got, err := DetectBranch(t.Context(), src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestDetectedBranchFromRealGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "topic/one")
	git("commit", "-q", "--allow-empty", "-m", "x")
	noEnv := func(string) string { return "" }
	if b, err := DetectBranch(t.Context(), BranchSource{Getenv: noEnv, Dir: dir}); err != nil || b != "topic/one" {
		t.Fatalf("got %q, %v", b, err)
	}
	git("checkout", "-q", "--detach")
	if _, err := DetectBranch(t.Context(), BranchSource{Getenv: noEnv, Dir: dir}); !errors.Is(err, ErrDetachedHead) {
		t.Fatalf("detached: err = %v", err)
	}
}
