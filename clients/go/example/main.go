// Runnable example: `npm start` in one shell, then, from clients/go, `go run ./example` with
// GOPATH set up as clients/README.md shows (SWITCHYARD_ADDRESS to point elsewhere).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	switchyardv1 "github.com/switchyard/switchyard/clients/go/gen/switchyard/v1"
	"github.com/switchyard/switchyard/clients/go/switchyard"
)

func main() {
	address := os.Getenv("SWITCHYARD_ADDRESS")
	if address == "" {
		address = "127.0.0.1:50051"
	}
	client, err := switchyard.New(address, switchyard.Options{
		Tenant:   "example",
		APIKey:   os.Getenv("SWITCHYARD_API_KEY"), // needed when the policy declares tenant keys
		Deadline: 30 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	answer, err := client.Route(ctx, &switchyardv1.RouteRequest{
		Messages:  []*switchyardv1.Message{switchyard.User("Summarise our refund policy in one line.")},
		Task:      "chat",
		DataClass: "public",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (tenant %s): %s\n", answer.Decision.GetTarget(), answer.Decision.GetTenant(), answer.Message.GetContent())
	for _, attempt := range answer.Decision.GetAttempts() {
		fmt.Printf("  attempt %s: %s in %.0f ms %s\n", attempt.Target, attempt.Outcome, attempt.LatencyMs, attempt.Message)
	}

	stream, err := client.Stream(ctx, &switchyardv1.StreamRequest{
		Messages:  []*switchyardv1.Message{switchyard.User("My SSN is on file.")},
		DataClass: "pii",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	fmt.Print("stream: ")
	for {
		event, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		switch event := event.Event.(type) {
		case *switchyardv1.StreamResponse_Delta:
			fmt.Print(event.Delta.Content)
		case *switchyardv1.StreamResponse_Done:
			fmt.Printf("\n  served by %s (route %s)\n", event.Done.Decision.GetTarget(), event.Done.Decision.GetRoute())
		}
	}

	_, err = client.Route(ctx, &switchyardv1.RouteRequest{
		Messages: []*switchyardv1.Message{switchyard.User("deploy with key AKIAIOSFODNN7EXAMPLE")},
		Task:     "chat",
	})
	var refused *switchyard.Error
	if !errors.As(err, &refused) {
		log.Fatalf("expected the request carrying a secret to be refused, got %v", err)
	}
	fmt.Printf("refused as expected: %s %s\n", refused.Code, refused.Message)
	if refused.Decision != nil {
		fmt.Printf("  decision: route %q, refusal %q, trace %s\n", refused.Decision.Route, refused.Decision.Refusal, refused.Decision.TraceId)
	}
}
