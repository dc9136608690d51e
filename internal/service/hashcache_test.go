package service

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A build waits for the guess of a file being hashed, and only for that
// file's, and gives up with its context.
func TestAwaitGuess(t *testing.T) {
	var c hashCache
	c.init()
	finish := c.guessing("a")
	if err := c.awaitGuess(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- c.awaitGuess(context.Background(), "a") }()
	select {
	case err := <-waited:
		t.Fatalf("did not wait for the guess: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	finish()
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if err := c.awaitGuess(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}

	defer c.guessing("a")()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.awaitGuess(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
