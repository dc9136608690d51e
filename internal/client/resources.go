package client

import (
	"context"
	"net/url"
)

// ListProjects returns every project.
func (c *Client) ListProjects(ctx context.Context) ([]Project, error) {
	var out struct {
		Projects []Project `json:"projects"`
	}
	err := c.getJSON(ctx, apiPath("projects"), nil, &out)
	return out.Projects, err
}

// CreateProject makes a project and adds it to the named repositories.
// An empty defaultBranch leaves the choice to the server.
func (c *Client) CreateProject(ctx context.Context, name, defaultBranch string, repos []string) (Project, error) {
	in := struct {
		Name          string   `json:"name"`
		DefaultBranch string   `json:"default_branch,omitempty"`
		Repositories  []string `json:"repositories,omitempty"`
	}{name, defaultBranch, repos}
	var out Project
	// A retry after a lost connection would answer 409 for a project the
	// first attempt made, so it is not retried.
	err := c.postJSON(ctx, apiPath("projects"), nil, in, &out, false)
	return out, err
}

// ListBranches returns the branches of a project.
func (c *Client) ListBranches(ctx context.Context, project string) ([]Branch, error) {
	var out struct {
		Branches []Branch `json:"branches"`
	}
	err := c.getJSON(ctx, apiPath("projects", project, "branches"), nil, &out)
	return out.Branches, err
}

// ListPackages returns the packages of one branch of a project; an empty
// branch means the project's default branch.
func (c *Client) ListPackages(ctx context.Context, project, branch string) ([]Package, error) {
	var q url.Values
	if branch != "" {
		q = url.Values{"branch": {branch}}
	}
	var out struct {
		Packages []Package `json:"packages"`
	}
	err := c.getJSON(ctx, apiPath("projects", project, "packages"), q, &out)
	return out.Packages, err
}

// GetPackage returns the package stored under sha256.
func (c *Client) GetPackage(ctx context.Context, sha256 string) (Package, error) {
	var out Package
	err := c.getJSON(ctx, apiPath("packages", sha256), nil, &out)
	return out, err
}

// RemovePackage removes a package from one branch. The package stays stored
// while other branches or releases hold it.
func (c *Client) RemovePackage(ctx context.Context, project, branch, sha256 string) error {
	return c.delete(ctx, apiPath("projects", project, "packages", sha256), url.Values{"branch": {branch}})
}

// CreateToken makes a token of the given kind (TokenAdmin, TokenUpload,
// TokenRead) scoped to projects. The answer's Token field holds the secret;
// it cannot be read again.
func (c *Client) CreateToken(ctx context.Context, kind string, projects []string, description string) (Token, error) {
	in := struct {
		Kind        string   `json:"kind"`
		Projects    []string `json:"projects,omitempty"`
		Description string   `json:"description,omitempty"`
	}{kind, projects, description}
	var out Token
	// Not retried after a lost connection: it would make a second token.
	err := c.postJSON(ctx, apiPath("tokens"), nil, in, &out, false)
	return out, err
}

// ListTokens returns every token, without their secrets.
func (c *Client) ListTokens(ctx context.Context) ([]Token, error) {
	var out struct {
		Tokens []Token `json:"tokens"`
	}
	err := c.getJSON(ctx, apiPath("tokens"), nil, &out)
	return out.Tokens, err
}

// DeleteToken revokes a token by its ID.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	return c.delete(ctx, apiPath("tokens", id), nil)
}

// ListRepositories returns every repository.
func (c *Client) ListRepositories(ctx context.Context) ([]Repository, error) {
	var out struct {
		Repositories []Repository `json:"repositories"`
	}
	err := c.getJSON(ctx, apiPath("repositories"), nil, &out)
	return out.Repositories, err
}

// CreateRepository makes a repository grouping the named projects.
func (c *Client) CreateRepository(ctx context.Context, name string, projects []string) (Repository, error) {
	in := Repository{Name: name, Projects: projects}
	var out Repository
	err := c.postJSON(ctx, apiPath("repositories"), nil, in, &out, false)
	return out, err
}
